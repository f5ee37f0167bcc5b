"""Every op type is handled at one dispatch point per backend and format, and nowhere is one
forgotten: each ``functools.singledispatch`` names every op type explicitly."""

import pytest

from ldsnn_lava.formats.netx import netx_layer
from ldsnn_lava.formats.nir import op_to_nir
from ldsnn_lava.numpy_ops import numpy_op
from ldsnn_lava.ops import OP_TYPES
from ldsnn_lava.quantize import quantize_op
from ldsnn_lava.sparse_ops import sparse_op
from ldsnn_lava.torch_ops import torch_op

DISPATCHERS = {"torch engine": torch_op, "numpy (Lava models)": numpy_op,
               "sparse maps (Brian2)": sparse_op, "quantizer": quantize_op,
               "netx writer": netx_layer, "NIR writer": op_to_nir}


@pytest.mark.parametrize("name", sorted(DISPATCHERS))
@pytest.mark.parametrize("op_type", sorted(OP_TYPES))
def test_every_op_type_is_registered(name, op_type):
    registry = DISPATCHERS[name].registry
    assert OP_TYPES[op_type] in registry, f"{name} has no rule for {op_type}"
