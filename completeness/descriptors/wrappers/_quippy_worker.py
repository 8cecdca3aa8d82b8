"""Child-process side of the quippy wrapper (run by ``_runner.py``; imports only numpy, ase and
quippy, nothing of ``completeness``).

``calc`` builds one ``quippy.descriptors.Descriptor`` per centre species (quippy selects centres
by ``Z``), computes every system and keeps the requested centres, located through quippy's
``ci`` (1-based centre indices). Gradients come from ``grad_data`` / ``grad_index_0based``
(``[centre atom, atom]``, both 0-based atom indices, not descriptor rows), added up when periodic
images repeat an atom.
"""

import numpy as np


def calc(descriptor_strings, systems, centres, gradients, n_features_string):
    import ase
    from quippy.descriptors import Descriptor

    made = {}

    def descriptor(z):
        if z not in made:
            made[z] = Descriptor(descriptor_strings[z])
        return made[z]

    n_features = int(Descriptor(n_features_string).dimensions())
    n_samples = sum(len(c) for c in centres)
    max_atoms = max(len(s["numbers"]) for s in systems)
    values = np.zeros((n_samples, n_features))
    grads = np.zeros((n_samples, max_atoms, 3, n_features)) if gradients else np.zeros(0)
    row = 0
    for system, wanted in zip(systems, centres, strict=True):
        atoms = ase.Atoms(
            numbers=system["numbers"],
            positions=system["positions"],
            cell=system["cell"],
            pbc=system["pbc"],
        )
        rows = {}
        for centre in wanted:
            rows.setdefault(int(centre), []).append(row)
            row += 1
        for z in sorted({int(system["numbers"][c]) for c in wanted}):
            result = descriptor(z).calc(atoms, grad=bool(gradients))
            data = np.asarray(result["data"]).reshape(-1, n_features)
            ci = np.atleast_1d(np.asarray(result["ci"])).astype(int) - 1
            for k, centre in enumerate(ci.tolist()):
                for r in rows.get(centre, []):
                    values[r] = data[k]
            if gradients:
                index = np.asarray(result["grad_index_0based"]).reshape(-1, 2)
                data_grad = np.asarray(result["grad_data"]).reshape(len(index), 3, n_features)
                for (centre, atom), block in zip(index.tolist(), data_grad, strict=True):
                    for r in rows.get(int(centre), []):
                        grads[r, atom] += block
    return {"values": values, "gradients": grads}


def initialise(string):
    """Build ``Descriptor(string)`` and report its dimension (probes of quippy's behaviour)."""
    from quippy.descriptors import Descriptor

    return {"dimensions": np.array(int(Descriptor(string).dimensions()))}
