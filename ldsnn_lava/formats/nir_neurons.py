"""NIR neuron nodes <-> ldsnn neurons: the time step, the input gains, each tool's convention.

NIR defines its neurons by continuous-time equations and leaves the time step and the
discretization to each backend. The ``"nir"`` convention reads them with forward Euler at an
explicit time step ``dt``::

    IF        v <- v + dt r S
    LIF       v <- v + dt/tau (v_leak - v + r S)
    CubaLIF   I <- I + dt/tau_syn (w_in S - I);   v <- v + dt/tau_mem (v_leak - v + r I)
    Threshold z = S > threshold (no state)

spiking where ``v > v_threshold`` and setting ``v = v_reset`` where spiked. ``I`` starts at 0
and ``v`` at rest: ``v_leak`` (LIF, CubaLIF), ``v_reset`` (IF). The voltage update sees the
updated current (as snnTorch, SpikingJelly, Norse's ``LIFCell`` and Lava do). The input gains
``dt r``, ``dt r / tau`` and ``(dt w_in / tau_syn)(dt r / tau_mem)`` are folded into the
weights before the neuron, which leaves an ldsnn neuron:
``IF(v_threshold, reset="hard", v_reset, compare=">", v_init=v_reset)`` or
``CubaLIF(v_threshold, current_decay=dt/tau_syn, voltage_decay=dt/tau_mem,
bias=dt v_leak/tau_mem, reset="hard", v_reset, compare=">", v_init=v_leak)`` with
``current_decay = 1`` for LIF (no current memory) and ``voltage_decay = 1`` for Threshold.
A decay ``dt/tau > 1`` (forward Euler overshooting) is refused, naming the node and field.

Files written by other tools do not always mean what NIR says: their exporters drop settings
NIR cannot hold (reset by subtraction, firing at ``v >= threshold``) or write parameters in
their own units, and nothing in the file says so. A *convention* reads a file the way the
tool that wrote it simulates it (each pinned from the tool's source and checked against the
tool by the conformance tests, spike for spike):

- ``"snntorch"`` (1.0): dt = 1e-4 (its exporter's constant). ``Leaky`` and ``Synaptic`` reset by
  subtracting the threshold at the step after a spike, after the decay (its defaults
  ``reset_mechanism="subtract"``, ``reset_delay=True``): ``reset="delayed_subtract"`` (an IF node,
  which snnTorch never writes, subtracts at once: the same without a decay); ``v`` starts at 0.
  Networks built with ``reset_mechanism="zero"`` are what the file says: read them with
  ``"nir"``.
- ``"sinabs_single_spike"`` (3.1, ``spike_fn=SingleSpike``): dt = 1 (time constants in steps).
  ``IAF`` and ``LIF`` reset by subtraction and fire at ``v >= threshold``, ``v`` starts at 0;
  ``LIF`` decays exactly, ``alpha = exp(-dt/tau)``, with input scaled by ``1 - alpha``
  (``norm_input=True``). ``"sinabs"`` stands for sinabs' defaults, whose ``MultiSpike`` emits
  several spikes per step: no ldsnn neuron does, and the file does not say which ``spike_fn`` was
  used, so it refuses neuron nodes, naming ``"sinabs_single_spike"`` for SingleSpike networks.
- ``"norse"`` (1.1): its exporter writes time constants multiplied by dt (read ``tau / dt``);
  ``IF`` integrates ``r S`` per step (Norse's IAF ignores dt); ``CubaLIF`` (``LIFCell``) adds
  ``w_in S`` to its current per step.
- ``"spikingjelly"`` (2.0): fire at ``v >= threshold``; ``v`` starts at ``v_reset``.
- ``"ldsnn"``: graphs written by :func:`ldsnn_lava.formats.nir.to_nir` carry each neuron's exact
  parameters in node metadata; they are used after checking that they agree with the node's NIR
  fields (so an edited graph is not misread).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ldsnn_lava.errors import FileFormatError, InvalidNetwork
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.options import NIRConvention, Reset

FIXED_DT = {NIRConvention.SNNTORCH: 1e-4, NIRConvention.SINABS_SINGLE_SPIKE: 1.0,
            NIRConvention.SINABS: 1.0}
"""Conventions whose exporter fixes the time step (the file still does not state it)."""

DT_HINT = ("snnTorch writes with dt=1e-4, Norse's to_nir and SpikingJelly's export_to_nir take a "
           "dt argument (defaults 1e-3 and 1e-4), sinabs counts time in steps (dt=1)")
_TOLERANCE = 1e-9
_RESET_WORDS = {Reset.SUBTRACT: "reset by subtraction",
                Reset.DELAYED_SUBTRACT: "reset by subtraction at the step after a spike"}


@dataclass(frozen=True)
class ReadNeuron:
    """A NIR neuron node read as an ldsnn neuron, and the input gain to fold before it."""

    neuron: IF | CubaLIF
    gain: np.ndarray
    """Broadcastable to the population's shape."""


def _array(node, field: str) -> np.ndarray:
    return np.asarray(getattr(node, field), dtype=np.float64)


def uniform(node, field: str, where: str) -> float:
    """The value of a per-neuron field that must be the same for every neuron."""
    values = _array(node, field).reshape(-1)
    if values.size == 0 or math.isnan(values[0]):
        raise FileFormatError(f"{where}: field {field} is empty or NaN")
    if not np.all(values == values[0]):
        raise FileFormatError(
            f"{where}: field {field} differs across neurons (from {values.min():g} to "
            f"{values.max():g}); an ldsnn population shares one value")
    return float(values[0])


def _decay(dt: float, tau: float, field: str, where: str) -> float:
    """Forward Euler's per-step decay ``dt / tau``, refused where it overshoots."""
    if not tau > 0:
        raise FileFormatError(f"{where}: field {field} must be > 0, got {tau:g}")
    decay = dt / tau
    if decay > 1:
        raise FileFormatError(
            f"{where}: field {field} = {tau:g} is shorter than the time step dt = {dt:g}: "
            f"forward Euler would overshoot (decay dt/{field} = {decay:g} > 1); check dt")
    return decay


def _finite(gain: np.ndarray, where: str) -> np.ndarray:
    if not np.all(np.isfinite(gain)):
        raise FileFormatError(f"{where}: the input gain from fields r, w_in and tau is not "
                              f"finite (e.g. tau = r = inf); NIR states a pure integrator as IF")
    return gain


def _v_init(convention: NIRConvention, rest: float, v_reset: float) -> float:
    """Where ``v`` starts: at rest by default, at 0 in snnTorch and sinabs (whose states start
    at zero), at v_reset in SpikingJelly (its CUBALIF too, although that one decays to 0)."""
    starts = {NIRConvention.SNNTORCH: 0.0, NIRConvention.SINABS_SINGLE_SPIKE: 0.0,
              NIRConvention.SPIKINGJELLY: v_reset}
    return starts.get(convention, rest)


def _reset(convention: NIRConvention, v_reset: float, leaks: bool, where: str) -> dict:
    """The reset and comparison a convention gives a neuron whose NIR field is ``v_reset``
    (``leaks``: LIF or CubaLIF, where a delayed subtraction differs from an immediate one)."""
    if convention in (NIRConvention.SNNTORCH, NIRConvention.SINABS_SINGLE_SPIKE):
        if v_reset != 0:
            raise FileFormatError(
                f"{where}: field v_reset = {v_reset:g}, but the {convention.value} convention "
                f"resets by subtraction (its exporter writes v_reset = 0); read the graph with "
                f"convention='nir'")
        if convention == NIRConvention.SNNTORCH:
            return {"reset": Reset.DELAYED_SUBTRACT if leaks else Reset.SUBTRACT, "compare": ">"}
        return {"reset": Reset.SUBTRACT, "compare": ">="}
    compare = ">=" if convention == NIRConvention.SPIKINGJELLY else ">"
    return {"reset": Reset.HARD, "v_reset": v_reset, "compare": compare}


def read_neuron(node, dt: float | None, convention: NIRConvention, where: str) -> ReadNeuron:
    """Read the NIR neuron ``node`` (IF, LIF, CubaLIF or Threshold) under ``convention``.

    Parameters
    ----------
    node : nir.IF, nir.LIF, nir.CubaLIF or nir.Threshold
    dt : float or None
        The time step; None where none is known (an error if the node needs one).
    convention : NIRConvention
    where : str
        How messages name the node.

    Raises
    ------
    FileFormatError
        For what the convention cannot represent, naming the node and field.
    """
    kind = type(node).__name__
    if kind == "Threshold":
        neuron = CubaLIF(uniform(node, "threshold", where), current_decay=1.0, voltage_decay=1.0)
        return ReadNeuron(neuron, np.ones(()))
    if convention == NIRConvention.LDSNN:
        return _read_own(node, dt, where)
    if convention == NIRConvention.SINABS:
        raise FileFormatError(
            f"{where}: sinabs' default spike_fn=MultiSpike emits several spikes per step where "
            f"v >= 2 * threshold; ldsnn neurons emit at most one, and the file does not say which "
            f"spike_fn the network used: if it used SingleSpike, read it with "
            f"convention='sinabs_single_spike'")
    if dt is None and not (kind == "IF" and convention == NIRConvention.NORSE):
        raise FileFormatError(
            f"{where}: a NIR {kind} node needs a time step and the graph states none: pass "
            f"dt= ({DT_HINT}), or convention='snntorch' or 'sinabs_single_spike' (whose "
            f"exporters fix it)")
    threshold = uniform(node, "v_threshold", where)
    v_reset = uniform(node, "v_reset", where)
    r = _array(node, "r")
    if kind == "IF":
        gain = r if convention == NIRConvention.NORSE else dt * r
        neuron = IF(threshold, v_init=_v_init(convention, v_reset, v_reset),
                    **_reset(convention, v_reset, False, where))
        return ReadNeuron(neuron, _finite(gain, where))
    if kind == "CubaLIF" and convention == NIRConvention.SINABS_SINGLE_SPIKE:
        raise FileFormatError(f"{where}: sinabs writes no CubaLIF nodes, so the sinabs "
                              f"convention has no reading for one; use convention='nir'")
    unit = dt if convention == NIRConvention.NORSE else 1.0  # Norse writes dt * tau
    v_leak = uniform(node, "v_leak", where)
    if kind == "LIF":
        tau = uniform(node, "tau", where) / unit
        if convention == NIRConvention.SINABS_SINGLE_SPIKE:  # exact decay, input * (1 - alpha)
            voltage_decay = -math.expm1(-dt / tau) if tau > 0 else math.nan
            if not 0 <= voltage_decay <= 1:
                raise FileFormatError(f"{where}: field tau must be > 0, got {tau:g}")
        else:
            voltage_decay = _decay(dt, tau, "tau", where)
        current_decay, current_gain = 1.0, np.ones(())
    else:
        current_decay = _decay(dt, uniform(node, "tau_syn", where) / unit, "tau_syn", where)
        voltage_decay = _decay(dt, uniform(node, "tau_mem", where) / unit, "tau_mem", where)
        w_in = _array(node, "w_in")
        current_gain = w_in if convention == NIRConvention.NORSE else current_decay * w_in
    with np.errstate(invalid="ignore"):  # inf * 0 is refused by name just below
        gain = _finite(current_gain * voltage_decay * r, where)
    neuron = CubaLIF(threshold, current_decay=current_decay, voltage_decay=voltage_decay,
                     bias=voltage_decay * v_leak, v_init=_v_init(convention, v_leak, v_reset),
                     **_reset(convention, v_reset, True, where))
    return ReadNeuron(neuron, gain)


# --- our own graphs ----------------------------------------------------------------------------

def own_metadata(node) -> dict:
    """The ``ldsnn`` entry of a node's or graph's metadata, decoded ({} if absent or foreign)."""
    raw = (getattr(node, "metadata", None) or {}).get("ldsnn")
    if isinstance(raw, bytes):
        raw = raw.decode("utf8")
    if not isinstance(raw, str):
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _read_own(node, dt: float | None, where: str) -> ReadNeuron:
    spec = own_metadata(node).get("neuron")
    kinds = {"IF": IF, "CubaLIF": CubaLIF}
    if not isinstance(spec, dict) or spec.get("type") not in kinds or dt is None:
        raise FileFormatError(f"{where}: no ldsnn neuron metadata, or no dt in the graph's "
                              f"metadata; read the graph with convention='nir'")
    try:
        neuron = kinds[spec["type"]](**{k: v for k, v in spec.items() if k != "type"})
    except (TypeError, ValueError) as err:
        raise FileFormatError(f"{where}: bad ldsnn neuron metadata ({err})") from None
    for field, implied in write_neuron(neuron, dt, where).fields.items():
        stated = np.unique(_array(node, field))
        if not np.allclose(stated, implied, rtol=_TOLERANCE, atol=1e-12):
            raise FileFormatError(
                f"{where}: its ldsnn metadata implies field {field} = {implied!r}, the node says "
                f"{stated.tolist()}; the graph was changed after export: read its NIR fields "
                f"alone with convention='nir'")
    return ReadNeuron(neuron, np.ones(()))


# --- writing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WrittenNeuron:
    """An ldsnn neuron as a NIR node: its kind, scalar fields, and what NIR cannot express."""

    kind: str
    fields: dict[str, float]
    caveats: tuple[str, ...]


def write_neuron(neuron: IF | CubaLIF, dt: float, where: str) -> WrittenNeuron:
    """The NIR node whose ``"nir"`` reading at ``dt`` is ``neuron``, as far as NIR can say it.

    The input gain is always 1 (``r = 1/dt`` for IF, ``w_in = tau_syn/dt`` and
    ``r = tau_mem/dt``); ``caveats`` name what NIR cannot express (our reader restores it from
    node metadata).

    A CubaLIF that neither leaks nor keeps a current (``current_decay = 1``, ``voltage_decay =
    0``, no bias) is written as an IF.

    Raises
    ------
    InvalidNetwork
        For any other CubaLIF with ``voltage_decay`` 0, or with ``current_decay`` 0 (infinite
        time constants: no NIR LIF/CubaLIF states them).
    """
    caveats = []
    if neuron.reset != Reset.HARD:
        caveats.append(_RESET_WORDS[neuron.reset] + " (NIR resets to v_reset)")
    if neuron.compare == ">=":
        caveats.append("firing at v >= threshold (NIR fires at v > threshold)")
    if getattr(neuron, "refractory", 0):
        caveats.append(f"a refractory period of {neuron.refractory} steps")
    integrator = isinstance(neuron, CubaLIF) and (neuron.current_decay, neuron.voltage_decay,
                                                  neuron.bias) == (1, 0, 0)
    if isinstance(neuron, IF) or integrator:  # a CubaLIF without leak or current is an IF
        start = neuron.initial_v if isinstance(neuron, IF) else neuron.v_init
        if start != neuron.v_reset:
            caveats.append(f"v starting at {start:g} (NIR states no initial potential; other "
                           f"tools start at v_reset = {neuron.v_reset:g})")
        return WrittenNeuron("IF", {"r": 1.0 / dt, "v_threshold": neuron.threshold,
                                    "v_reset": neuron.v_reset}, tuple(caveats))
    for field in ("voltage_decay", "current_decay"):
        if getattr(neuron, field) == 0:
            raise InvalidNetwork(f"{where}: CubaLIF with {field} = 0 (nothing ever decays) has "
                                 f"no NIR form: its time constant would be infinite")
    tau_mem = dt / neuron.voltage_decay
    v_leak = neuron.bias / neuron.voltage_decay
    if neuron.v_init != v_leak:
        caveats.append(f"v starting at {neuron.v_init:g} (NIR states no initial potential; "
                       f"other tools start at v_leak = {v_leak:g})")
    fields = {"r": tau_mem / dt, "v_leak": v_leak, "v_threshold": neuron.threshold,
              "v_reset": neuron.v_reset}
    if neuron.current_decay == 1:
        return WrittenNeuron("LIF", {"tau": tau_mem, **fields}, tuple(caveats))
    tau_syn = dt / neuron.current_decay
    return WrittenNeuron("CubaLIF", {"tau_syn": tau_syn, "tau_mem": tau_mem, "w_in": tau_syn / dt,
                                     **fields}, tuple(caveats))


def neuron_metadata(neuron: IF | CubaLIF) -> str:
    """The exact parameters of ``neuron``, as the JSON our reader takes from node metadata."""
    params = {k: v for k, v in neuron.__dict__.items() if v is not None}
    return json.dumps({"neuron": {"type": type(neuron).__name__, **params}})
