"""A stage built from Lava's own processes: ``Dense`` or ``Conv``, then ``LIFReset``.

Where Lava's standard processes express a stage exactly, :class:`ldsnn_lava.processes.LDNetwork`
can build it from them (``lava_stages=...``), so that the part of an LD-SNN a Loihi mapping
would take from Lava's library is Lava's library. The conditions, each a consequence of what
those processes compute:

- **CubaLIF neurons.** Lava's ``LIF`` is CubaLIF (strict ``>``, hard reset to 0, u and v from 0);
  ``LIFReset`` zeroes u and v every ``reset_interval`` steps at ``reset_offset``: our per-sample
  reset at the first step of the stage's window. IF (reset by subtraction, ``v_init``) has no
  Lava counterpart. Fixed point: Lava's bit-accurate LIF decays the current by ``du + 1``
  (``ds_offset = 1``), so Lava's ``du`` is ours minus one (``current_decay >= 1/4096``);
  ``dv`` is the same (``voltage_decay < 1``); our bias ``b`` (added as ``b << 6``) is
  ``bias_mant = b, bias_exp = 6``.
- **One Dense (after an optional Flatten) or one Conv2d, without bias.** Lava's ``Dense`` and
  ``Conv`` have no bias (``LIF``'s ``bias_mant`` adds to v, not to the current u); no pooling.
  ``Conv`` takes ``(W, H, C)`` input and ``(out, kw, kh, in)`` weights and computes a true
  convolution (it flips the kernel): the block transposes its ports and flips the weights.
  Fixed-point ``Dense`` keeps 8-bit weights and zeroes the lowest bit of mixed-sign ones, so
  weight ``w`` goes in as ``2w / 2^e`` with ``weight_exp = e - 1`` (``e`` the smallest shift
  that fits ``[-256, 254]``, exact while every weight is a multiple of ``2^e``).
- **Arithmetic.** ``floating_pt`` Dense sums the weights of the spiking inputs in its own order
  and ``Conv`` computes in float32 (through torch): equal to the engine while those sums are
  exact (as for quantized or dyadic weights). ``fixed_pt`` is exact while Conv sums stay within
  24 bits.
- **One step of delay.** ``Dense`` and ``Conv`` send at step t what they received at t-1; the
  stage's window is shifted by one step after its input window (``ldsnn_lava.clock``, delays).

Outside its window Lava's LIF keeps integrating its bias and decaying; the spikes it sends there
fall outside the next buffer's collecting window and are ignored, and its state is reset before
the window starts, so the stage's spikes are the semantics' spikes. The LD buffers, IF stages,
pools, biases and the readout stay our own processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.proc.conv.process import Conv as LavaConv
from lava.proc.dense.process import Dense as LavaDense
from lava.proc.lif.process import LIFReset

from ldsnn_lava.clock import Window
from ldsnn_lava.errors import InvalidNetwork
from ldsnn_lava.network import Stage
from ldsnn_lava.neurons import DECAY_BITS, CubaLIF
from ldsnn_lava.ops import Conv2d, Dense, Flatten
from ldsnn_lava.options import Precision

HOP_DELAY = 1
"""Steps Lava's Dense and Conv delay their input."""
_WHC = [2, 1, 0]  # (C, H, W) <-> Lava's (W, H, C)
_MAX_DENSE_WEIGHT_SHIFT = 24


def _dense_fixed_weights(weight: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Lava's fixed-point Dense weights and ``weight_exp`` for integer weights, or None."""
    w = weight.astype(np.int64)
    for shift in range(_MAX_DENSE_WEIGHT_SHIFT):
        if np.any(w % (1 << shift)):
            return None
        lava = 2 * w // (1 << shift)
        if lava.min() >= -256 and lava.max() <= 254:
            return lava, shift - 1
    return None


def refusal(stage: Stage, precision: Precision) -> str | None:
    """Why Lava's Dense/Conv + LIFReset cannot compute ``stage`` exactly, or None if they can."""
    if stage.is_readout:
        return "it is the readout (no neurons; its sum over the window is ours)"
    if not isinstance(stage.neuron, CubaLIF):
        return ("its neurons are not CubaLIF (Lava's LIF resets to 0; IF resets by "
                "subtraction from v_init)")
    if not stage.neuron.is_loihi:
        return ("its CubaLIF is a variant (reset, comparison or initial potential) that Lava's "
                "LIF does not have")
    ops = stage.ops[1:] if isinstance(stage.ops[0], Flatten) else stage.ops
    if len(ops) != 1 or not isinstance(ops[0], Dense | Conv2d) or (
            isinstance(ops[0], Conv2d) and len(stage.ops) != 1):
        return "its ops are not one Dense (after an optional Flatten) or one Conv2d"
    op = ops[0]
    if op.bias is not None and np.any(op.bias):
        return "its synapses have a bias (Lava's Dense and Conv have none)"
    if precision == Precision.FIXED:
        p = stage.neuron.fixed_parameters()
        if p["du"] < 1 or p["dv"] >= 1 << DECAY_BITS:
            return ("its decays are outside Lava's fixed-point LIF (current_decay >= 1/4096 "
                    "and voltage_decay < 1 are needed)")
        if isinstance(op, Dense) and _dense_fixed_weights(op.weight) is None:
            return "its weights do not fit Lava's 8-bit fixed-point Dense with a weight exponent"
    return None


@dataclass
class LavaStage:
    """A stage as Lava's ``synapse`` (Dense or Conv) and ``neuron`` (LIFReset) processes.

    ``synapse.weights`` / ``synapse.weight`` and ``neuron.u``, ``neuron.v`` are Lava's own Vars.
    Connect to it with :meth:`connect_input` and :meth:`output` (they adapt the ``(C, H, W)``
    layout of our processes to Conv's ``(W, H, C)``).
    """

    synapse: LavaDense | LavaConv
    neuron: LIFReset
    window: Window
    """The neurons' window (one step after the input window)."""

    def connect_input(self, port) -> None:
        """Connect ``port`` (an OutPort, or the network's InPort) in our layout."""
        if isinstance(self.synapse, LavaConv):
            port = port.transpose(_WHC)
        elif len(port.shape) > 1:
            port = port.flatten()
        port.connect(self.synapse.s_in)

    def output(self):
        """The neurons' spikes, in our layout."""
        if isinstance(self.synapse, LavaConv):
            return self.neuron.s_out.transpose(_WHC)
        return self.neuron.s_out


def build(stage: Stage, in_shape: tuple[int, ...], window: Window, precision: Precision,
          graded_input: bool, name: str) -> LavaStage:
    """Lava's processes for ``stage``; ``window`` is its neurons' window (after the hop delay).

    ``graded_input``: the input is a real or integer value (direct input), not 0/1 spikes.
    """
    reason = refusal(stage, precision)
    if reason is not None:
        raise InvalidNetwork(f"{name} cannot be built from Lava's Dense/Conv and LIF: {reason}")
    fixed = precision == Precision.FIXED
    op = stage.ops[-1]
    message_bits = 24 if graded_input else 0
    if isinstance(op, Conv2d):
        channels, height, width = in_shape
        weight = op.weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)
        synapse = LavaConv(weight=weight.astype(np.int64) if fixed else weight.copy(),
                           input_shape=(width, height, channels),
                           padding=op.padding[::-1], stride=op.stride[::-1],
                           num_message_bits=message_bits, name=f"{name}.synapse")
        shape = synapse.a_out.shape
    else:
        if fixed:
            weights, exponent = _dense_fixed_weights(op.weight)
            synapse = LavaDense(weights=weights, weight_exp=exponent,
                                num_message_bits=message_bits, name=f"{name}.synapse")
        else:
            synapse = LavaDense(weights=op.weight, num_message_bits=message_bits,
                                name=f"{name}.synapse")
        shape = (op.weight.shape[0],)
    neuron = stage.neuron
    reset = {"reset_interval": window.period, "reset_offset": (window.offset + 1) % window.period}
    if fixed:
        p = neuron.fixed_parameters()
        lif = LIFReset(shape=shape, vth=p["threshold"], du=p["du"] - 1, dv=p["dv"],
                       bias_mant=p["bias"], bias_exp=6, name=f"{name}.neuron", **reset)
    else:
        lif = LIFReset(shape=shape, vth=neuron.threshold, du=neuron.current_decay,
                       dv=neuron.voltage_decay, bias_mant=neuron.bias, name=f"{name}.neuron",
                       **reset)
    synapse.a_out.connect(lif.a_in)
    return LavaStage(synapse, lif, window)
