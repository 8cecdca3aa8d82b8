"""quippy behind the package's API (in a child process), the child-process runner itself, and
every quippy finding of docs/peers.md reproduced with quippy called directly (in children, so a
failure cannot take the test session down)."""

import sys
import textwrap

import ase
import numpy as np
import pytest

from completeness.descriptors.wrappers import PeerCrash, PeerError
from completeness.descriptors.wrappers._runner import run_isolated


def cluster(seed=0, n=6, species=(1, 8), radius=3.2):
    rng = np.random.default_rng(seed)
    points = [np.zeros(3)]
    while len(points) < n + 1:
        candidate = rng.uniform(-radius, radius, 3)
        if (
            np.linalg.norm(candidate) <= radius
            and min(np.linalg.norm(candidate - p) for p in points) > 0.9
        ):
            points.append(candidate)
    numbers = [6] + [species[k % len(species)] for k in range(n)]
    return ase.Atoms(numbers=numbers, positions=np.array(points))


# ---- the runner (no quippy needed) -----------------------------------------------------------


@pytest.fixture
def worker(tmp_path):
    path = tmp_path / "worker.py"
    path.write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            import numpy as np

            def double(x):
                return {"y": 2 * np.asarray(x), "names": np.array(["a", "b"])}

            def exits(code):
                print("the library says goodbye", file=sys.stderr)
                sys.exit(code)

            def raises():
                raise ValueError("bad hyperparameter: l_max=-1")

            def killed():
                os.kill(os.getpid(), signal.SIGKILL)
            """
        )
    )
    return str(path)


def test_runner_brings_arrays_back(worker):
    out = run_isolated(worker, "double", {"x": np.arange(3.0)}, label="test")
    np.testing.assert_array_equal(out["y"], [0.0, 2.0, 4.0])
    assert out["names"].tolist() == ["a", "b"]


def test_runner_turns_an_exit_into_peercrash_with_stderr(worker):
    with pytest.raises(PeerCrash, match="exit status 7: the library says goodbye") as info:
        run_isolated(worker, "exits", {"code": 7}, label="lib thing")
    assert info.value.returncode == 7


def test_runner_turns_a_signal_into_peercrash(worker):
    with pytest.raises(PeerCrash, match="lib thing was killed by signal SIGKILL"):
        run_isolated(worker, "killed", {}, label="lib thing")


def test_runner_passes_an_exception_with_its_type_and_message(worker):
    with pytest.raises(
        PeerError, match="lib thing raised ValueError: bad hyperparameter: l_max=-1"
    ):
        run_isolated(worker, "raises", {}, label="lib thing")


# ---- quippy ----------------------------------------------------------------------------------

requires_quippy = pytest.mark.skipif(
    __import__("importlib").util.find_spec("quippy") is None, reason="quippy is not installed"
)


@pytest.fixture
def direct(tmp_path):
    """Run quippy directly (by hand-written descriptor strings) in a child process."""
    path = tmp_path / "direct.py"
    path.write_text(
        textwrap.dedent(
            """
            import numpy as np

            def calc(strings, systems):
                # data{i}[k]: descriptor strings[i] on systems[k] (one centre each)
                import ase
                from quippy.descriptors import Descriptor

                data = {}
                for index, string in enumerate(strings):
                    descriptor = Descriptor(string)
                    rows = []
                    for numbers, positions in systems:
                        atoms = ase.Atoms(numbers=numbers, positions=positions)
                        result = descriptor.calc(atoms)
                        assert np.asarray(result["ci"]).tolist() == [1]  # 1-based centre index
                        rows.append(np.asarray(result["data"])[0])
                    data[f"data{index}"] = np.array(rows)
                return data

            def initialise(string):
                from quippy.descriptors import Descriptor

                return {"dimensions": np.array(Descriptor(string).dimensions())}
            """
        )
    )

    def call(function, **inputs):
        return run_isolated(str(path), function, inputs, label="quippy (test)")

    return call


@requires_quippy
def test_translation_table_gives_quippys_own_numbers(direct):
    from completeness.descriptors.wrappers import QuippySoap

    atoms = cluster(1)
    wrapper = QuippySoap(
        cutoff=4.0,
        n_radial=4,
        max_angular=3,
        density_width=0.4,
        cutoff_width=0.3,
        species=[1, 6, 8],
    )
    string = (
        "soap cutoff=4.0 cutoff_transition_width=0.3 l_max=3 n_max=4 atom_sigma=0.4 "
        "n_species=3 species_Z={1 6 8} Z=6"
    )
    reference = direct("calc", strings=[string], systems=[(atoms.numbers, atoms.positions)])
    got = wrapper.compute(atoms, centers=[0]).values
    np.testing.assert_array_equal(got, reference["data0"])
    assert "quippy" not in sys.modules  # the wrapper ran it in a child, never here


@requires_quippy
def test_rows_follow_the_requested_centres_whatever_their_species():
    from completeness.descriptors.wrappers import QuippyPowerSO3

    atoms = cluster(2)
    descriptor = QuippyPowerSO3(cutoff=4.0, n_radial=3, max_angular=2)
    batch = descriptor.compute([atoms, atoms], centers=[[3, 0], [1]])
    assert batch.samples.tolist() == [[0, 3], [0, 0], [1, 1]]
    np.testing.assert_array_equal(batch.values[0], descriptor.compute(atoms, centers=[3]).values[0])
    assert not np.allclose(batch.values[0], batch.values[1])


@requires_quippy
def test_finding_bad_descriptor_string_raises_in_the_child(direct):
    """Probe 'a bad descriptor string': Descriptor('soap --help') prints the help and raises
    RuntimeError with quippy's Fortran traceback (quippy 0.10.3 here: the process is not ended,
    as docs/science.md §6 expected; either way the child takes it, not us)."""
    with pytest.raises(PeerError, match=r"soap_initialise failed to parse args_str='soap --help'"):
        direct("initialise", string="soap --help")
    with pytest.raises(PeerError, match="string_to_real: could not convert"):
        direct("initialise", string="soap cutoff=abc l_max=2 n_max=2 atom_sigma=0.5")


@requires_quippy
def test_finding_species_missing_from_species_z_are_dropped_silently(direct):
    """Probe 'species missing from species_Z': O neighbours vanish without an error."""
    atoms = cluster(5)
    without = atoms[[k for k, z in enumerate(atoms.numbers) if z != 8]]
    string = "soap cutoff=4.0 l_max=3 n_max=4 atom_sigma=0.5 n_species=2 species_Z={1 6} Z=6"
    systems = [(atoms.numbers, atoms.positions), (without.numbers, without.positions)]
    a, b = direct("calc", strings=[string], systems=systems)["data0"]
    assert len(without) < len(atoms)
    np.testing.assert_allclose(a, b, atol=1e-14)
    assert np.abs(a).max() > 0.1
    # the wrapper refuses an incomplete species list instead
    from completeness.descriptors.wrappers import QuippySoap
    from completeness.environments import InputError

    with pytest.raises(InputError, match=r"^O \(Z=8\) is not a species of this QuippySoap"):
        QuippySoap(species=[1, 6]).compute(atoms, centers=[0])


@requires_quippy
def test_finding_so3_so4_descriptors_ignore_neighbour_species(direct):
    """Probes 'neighbour species': swapping H and O neighbours changes nothing, for power_so3,
    bispectrum_so3 and bispectrum_so4 (while moving one neighbour does)."""
    strings = [
        "power_so3 cutoff=4.0 l_max=3 n_max=4 Z=6",
        "bispectrum_so3 cutoff=4.0 l_max=3 n_max=3 Z=6",
        "bispectrum_so4 cutoff=4.0 j_max=3 Z=6",
    ]
    atoms = cluster(4)
    swapped = atoms.numbers.copy()
    swapped[1:] = np.where(atoms.numbers[1:] == 1, 8, 1)
    moved = atoms.positions.copy()
    moved[1] *= 1.1
    systems = [
        (atoms.numbers, atoms.positions),
        (swapped, atoms.positions),
        (atoms.numbers, moved),
    ]
    data = direct("calc", strings=strings, systems=systems)
    for index, string in enumerate(strings):
        a, b, c = data[f"data{index}"]
        np.testing.assert_array_equal(a, b, err_msg=string)
        assert np.abs(a - c).max() > 1e-4 * np.abs(a).max(), string
