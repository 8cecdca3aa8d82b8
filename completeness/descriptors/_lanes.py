r"""Eight-lane vector operations for the compiled kernels (numba intrinsics; needs numba).

numba leaves LLVM's superword vectoriser off, and the loops of the power-spectrum pair gradients
are too short (a channel count of 8, rows of 1 to 8 entries) for its loop vectoriser, so their
scalar code ran at a few percent of the machine's peak. The two operations below are written
directly as LLVM vector instructions over :data:`LANES` float64 values (one AVX-512 register, two
AVX2 registers; LLVM splits them on narrower machines), with plain loads and stores only, so they
compile the same on every LLVM that numba has used.

The arrays are 1-D and C-contiguous; the callers guarantee that every lane read or written is
inside its array (work arrays carry :data:`LANES` entries of zero padding).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: Values per vector operation.
LANES = 8

_VECTOR = ir.VectorType(ir.DoubleType(), LANES)
_INDICES = ir.VectorType(ir.IntType(64), LANES)
_LANE_NUMBERS = ir.Constant(_INDICES, list(range(LANES)))


def _data(context, builder, array_type, array):
    return context.make_array(array_type)(context, builder, array).data


def _lanes_at(builder, data, index):
    return builder.bitcast(builder.gep(data, [index]), _VECTOR.as_pointer())


def _splat(builder, value, vector_type=_VECTOR):
    vector = ir.Constant(vector_type, ir.Undefined)
    vector = builder.insert_element(vector, value, ir.Constant(ir.IntType(32), 0))
    every_lane = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
    return builder.shuffle_vector(vector, vector, every_lane)


@intrinsic
def project_lanes(
    typingctx, work, offset, stride, harmonics, h_offset, harmonics_gradient, g_offset,
    g_stride, lm_first, lm_end, columns, column_stride, column_offset,
):  # fmt: skip
    r"""Four sums over ``lm_first <= lm < lm_end``, lane by lane (``k < LANES``):

    ``work[offset + q stride + k] = sum_lm s_q(lm) columns[lm column_stride + column_offset + k]``

    with ``s_0 = harmonics[h_offset + lm]`` and ``s_{1+x} = harmonics_gradient[g_offset + x
    g_stride + lm]``: the projections :math:`u, v_x, v_y, v_z` of one pair onto eight channels,
    accumulated in registers.
    """
    signature = types.void(
        work, offset, stride, harmonics, h_offset, harmonics_gradient, g_offset, g_stride,
        lm_first, lm_end, columns, column_stride, column_offset,
    )  # fmt: skip

    def codegen(context, builder, signature, args):
        (
            work_, offset_, stride_, harmonics_, h_offset_, gradient_, g_offset_, g_stride_,
            lm_first_, lm_end_, columns_, column_stride_, column_offset_,
        ) = args  # fmt: skip
        kinds = signature.args
        work_data = _data(context, builder, kinds[0], work_)
        harmonics_data = _data(context, builder, kinds[3], harmonics_)
        gradient_data = _data(context, builder, kinds[5], gradient_)
        column_data = _data(context, builder, kinds[10], columns_)
        zero = ir.Constant(_VECTOR, [0.0] * LANES)
        sums = [cgutils.alloca_once_value(builder, zero) for _ in range(4)]
        with cgutils.for_range(builder, builder.sub(lm_end_, lm_first_)) as loop:
            lm = builder.add(lm_first_, loop.index)
            column_start = builder.add(builder.mul(lm, column_stride_), column_offset_)
            column = builder.load(_lanes_at(builder, column_data, column_start), align=8)
            weights = [builder.load(builder.gep(harmonics_data, [builder.add(h_offset_, lm)]))]
            position = builder.add(g_offset_, lm)
            for _ in range(3):
                weights.append(builder.load(builder.gep(gradient_data, [position])))
                position = builder.add(position, g_stride_)
            for total, weight in zip(sums, weights, strict=True):
                term = builder.fmul(_splat(builder, weight), column)
                builder.store(builder.fadd(builder.load(total), term), total)
        position = offset_
        for total in sums:
            builder.store(builder.load(total), _lanes_at(builder, work_data, position), align=8)
            position = builder.add(position, stride_)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def combine_lanes(
    typingctx, out, position, count, diagonal, weight, work, a, v, b, u, c, r, e, dr,
):  # fmt: skip
    r"""``out[position + k] = w_k (a v_k + b u_k + c r_k + e dr_k) + 0`` for ``k < LANES``, where
    ``v_k = work[v + k]`` (likewise ``u, r, dr``) and ``w_k`` is ``weight``, or 1 at
    ``k == diagonal``; only ``k < count`` when ``count < LANES`` (one value at a time). Adding
    zero turns a ``-0.0`` into ``+0.0``, so lanes whose four products are zero store ``+0.0``.
    """
    signature = types.void(out, position, count, diagonal, weight, work, a, v, b, u, c, r, e, dr)

    def codegen(context, builder, signature, args):
        out_, position_, count_, diagonal_, weight_, work_, a_, v_, b_, u_, c_, r_, e_, dr_ = args
        work_data = _data(context, builder, signature.args[5], work_)

        def lanes(offset):
            return builder.load(_lanes_at(builder, work_data, offset), align=8)

        total = builder.fmul(_splat(builder, a_), lanes(v_))
        for scalar, offset in ((b_, u_), (c_, r_), (e_, dr_)):
            total = builder.fadd(total, builder.fmul(_splat(builder, scalar), lanes(offset)))
        on_diagonal = builder.icmp_unsigned(
            "==", _LANE_NUMBERS, _splat(builder, diagonal_, _INDICES)
        )
        one = ir.Constant(_VECTOR, [1.0] * LANES)
        weights = builder.select(on_diagonal, one, _splat(builder, weight_))
        total = builder.fadd(builder.fmul(total, weights), ir.Constant(_VECTOR, [0.0] * LANES))
        out_data = _data(context, builder, signature.args[0], out_)
        every_lane = builder.icmp_unsigned(">=", count_, ir.Constant(count_.type, LANES))
        with builder.if_else(every_lane, likely=True) as (whole, part):
            with whole:
                builder.store(total, _lanes_at(builder, out_data, position_), align=8)
            with part:
                with cgutils.for_range(builder, count_) as loop:
                    value = builder.extract_element(total, loop.index)
                    target = builder.gep(out_data, [builder.add(position_, loop.index)])
                    builder.store(value, target)
        return context.get_dummy_value()

    return signature, codegen
