"""Check the fixed-point semantics against lava-dl's Loihi 2 PilotNet traces.

lava-dl 0.6's wheel ships, under ``tests/lava/lib/dl/netx/gts/pilotnet_lif/``, a 5-conv +
4-dense CUBA-LIF network (``network.net``), one input (``image.npy``) and, for every layer,
the spikes, currents ``u`` and voltages ``v`` recorded on Loihi 2 for 24 steps (25 for the
output). This module reads the network with
:func:`~ldsnn_lava.formats.netx.read_network` (``readout_integrator=True``), runs it with the
library's own ops and :meth:`CubaLIF.step(..., fixed=True)
<ldsnn_lava.neurons.CubaLIF.step>`, layer by layer and step by step, and compares.

How the recording lines up with our delay-free semantics (all found by this comparison):

- ``image.npy`` is already the input layer's bias (``bias_mant``), so stage 0 is fed with
  ``Scale(1, 0)`` instead of the file's ``weight * x + bias``.
- Loihi adds one step per hop and resets each layer every 17 steps: stage l's window starts
  at recorded step ``l`` (and again at ``l + 17``). Our step k of stage l is recorded step
  ``l + k`` (``17 + l + k`` for the second window).
- The recorded ``u`` excludes the layer bias, which netx adds to ``v``. The reader keeps a
  uniform bias in the neuron (outside ``u``) and puts a per-channel or per-neuron one in the
  op (exact with ``iDecay = 4096``), so ``u`` is compared as ``u - (op bias << 6)``.
- At a spike step the recorded ``v`` reads 128 (``2 << 6``) where Lava's bit-accurate LIF
  and ours hold 0; the next step continues from 0 on both. ``v`` is compared elsewhere.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ldsnn_lava.formats.netx import read_network as from_netx
from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import FIXED_SHIFT, CubaLIF
from ldsnn_lava.ops import Scale
from ldsnn_lava.torch_ops import torch_op

TRACE_NAMES = ("input", "conv-0", "conv-1", "conv-2", "conv-3", "conv-4", "fc-0", "fc-1",
               "fc-2", "fc-3")
RESET_PERIOD = 17
SPIKE_V_MARK = 2 << FIXED_SHIFT


def pilotnet_dir() -> Path:
    """The folder of lava-dl's PilotNet LIF traces, found through the wheel's file list."""
    try:
        dist = importlib.metadata.distribution("lava-dl")
    except importlib.metadata.PackageNotFoundError:
        raise ValueError("lava-dl is not installed; the PilotNet traces ship in its "
                         "wheel") from None
    for file in dist.files or []:
        if str(file).replace("\\", "/").endswith("gts/pilotnet_lif/network.net"):
            return Path(dist.locate_file(file)).parent
    raise ValueError("this lava-dl wheel has no gts/pilotnet_lif traces")


def _load(folder: Path, name: str) -> np.ndarray:
    """A trace as (T, C, H, W) or (T, N): lava-dl stores (W, H, C, T)."""
    array = np.load(folder / f"{name}.npy")
    moved = np.moveaxis(array, -1, 0)
    return np.ascontiguousarray(moved.transpose(0, *range(array.ndim - 1, 0, -1)))


@dataclass
class LayerMatch:
    """Agreement of one stage with its recorded trace, over the compared steps.

    Attributes
    ----------
    name : str
        Trace name (``input``, ``conv-0``, ...).
    offset : int
        Recorded step of our step 0.
    steps : int
        Steps compared.
    spikes, u, v : float or None
        Fraction of (step, neuron) entries equal; ``None`` where nothing was recorded.
    """

    name: str
    offset: int
    steps: int
    spikes: float | None
    u: float | None
    v: float | None

    @property
    def exact(self) -> bool:
        return all(x in (None, 1.0) for x in (self.spikes, self.u, self.v))


def _run_stage(stage: Stage, neuron: CubaLIF, inp: torch.Tensor, steps: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Our fixed-point stage, step by step: spikes, u and v of every step.

    ``inp`` is ``(steps, *in_shape)``, or ``(1, *in_shape)`` for a constant input."""
    x = inp
    for op in stage.ops:
        x = torch_op(op, "cpu", torch.float64)(x)
    currents = torch.round(x).to(torch.int64)
    if currents.shape[0] == 1:
        currents = currents.expand(steps, *currents.shape[1:])
    state = neuron.initial_state(currents[0], fixed=True)
    spikes, us, vs = [], [], []
    for t in range(steps):
        state, s = neuron.step(state, currents[t], fixed=True)
        spikes.append(s)
        us.append(state[0])
        vs.append(state[1])
    return torch.stack(spikes).numpy(), torch.stack(us).numpy(), torch.stack(vs).numpy()


def _bias_shift(stage: Stage, shape) -> np.ndarray:
    bias = getattr(stage.ops[-1], "bias", None)
    if bias is None or isinstance(stage.ops[-1], Scale):
        return np.zeros(shape, dtype=np.int64)
    bias = np.asarray(bias).reshape((-1,) + (1,) * (len(shape) - 1))
    return (bias.astype(np.int64) << FIXED_SHIFT) + np.zeros(shape, dtype=np.int64)


def _fraction(ours: np.ndarray, recorded: np.ndarray, mask: np.ndarray | None = None) -> float:
    equal = ours == recorded
    if mask is not None:
        equal = equal[mask]
    return float(equal.mean())


def compare_pilotnet_traces(folder: str | Path | None = None, chained: bool = True
                            ) -> list[LayerMatch]:
    """Run PilotNet with our fixed-point semantics and compare with the Loihi 2 traces.

    Parameters
    ----------
    folder : str or Path, optional
        The ``pilotnet_lif`` folder; default: found in the lava-dl wheel.
    chained : bool
        True: each stage is driven by our own previous stage (end to end). False: by the
        recorded spikes of the previous layer (isolates each layer).

    Returns
    -------
    list of LayerMatch
        One per stage, input layer first.
    """
    folder = pilotnet_dir() if folder is None else Path(folder)
    net: Network = from_netx(folder / "network.net", readout_integrator=True)
    image = np.load(folder / "image.npy").transpose(2, 1, 0)[None].astype(np.float64)
    integrator = CubaLIF(threshold=(1 << 17) - 1, current_decay=1.0, voltage_decay=0.0)
    results, inp = [], torch.as_tensor(image)
    for index, stage in enumerate(net.stages):
        name = TRACE_NAMES[index]
        if index == 0:
            stage = Stage([Scale(1.0, 0.0)], stage.neuron, stage.name)
        neuron = stage.neuron if stage.neuron is not None else integrator
        recorded_s = _load(folder, name if index < 9 else "fc-3-s")
        total = recorded_s.shape[0]
        ours_s, ours_u, ours_v = _run_stage(stage, neuron, inp.to(torch.float64), RESET_PERIOD)
        ours_u = ours_u - _bias_shift(stage, ours_u.shape[1:])
        # recorded steps [index, index + 17) then [index + 17, ...): our steps 0.. again
        rec_steps = np.arange(index, total)
        our_steps = (rec_steps - index) % RESET_PERIOD
        s_match = u_match = v_match = None
        if index < 9:
            s_match = _fraction(ours_s[our_steps], recorded_s[rec_steps])
        if index > 0:
            rec_u = _load(folder, f"{name}-u").astype(np.int64)[rec_steps]
            rec_v = _load(folder, f"{name}-v").astype(np.int64)[rec_steps]
            u_match = _fraction(ours_u[our_steps], rec_u)
            v_match = _fraction(np.where(ours_s[our_steps], SPIKE_V_MARK, ours_v[our_steps]),
                                rec_v)
        results.append(LayerMatch(name, index, len(rec_steps), s_match, u_match, v_match))
        if index < 9:
            drive = ours_s if chained else recorded_s[index:index + RESET_PERIOD]
            if drive.shape[0] < RESET_PERIOD:
                pad = np.zeros((RESET_PERIOD - drive.shape[0],) + drive.shape[1:], dtype=bool)
                drive = np.concatenate([drive, pad])
            inp = torch.as_tensor(drive).to(torch.float64)
    return results
