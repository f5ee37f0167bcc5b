"""Only the Lava backend and the processes import lava (docs/design.md, layout): the engine, the
optimizer, the importers, the zoo and the CLI's torch path work where lava cannot be imported."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["lava"] = None  # any `import lava...` now raises ImportError

    import numpy as np
    from ldsnn_lava import Schedule, datasets, evaluate, quantize, zoo
    from ldsnn_lava.formats.netx import read_network as from_netx
    from ldsnn_lava.loihi.estimate import estimate
    from ldsnn_lava.optimize import optimize

    model = zoo.load("mlp_digits")
    data = datasets.load(model.dataset)
    x, y = model.preprocess(data.x_val[:60]), data.y_val[:60]
    result = optimize(model.network, base_T=model.base_T, val=(x, y), restarts=0,
                      progress=False)
    fixed = quantize(model.network)
    evaluate(fixed.network, result.schedule, fixed.encode_input(x), precision="fixed")
    netx = zoo.load("lava_dl_mnist").network
    assert netx.num_stages == 4 and from_netx(zoo.lava_dl_mnist_path()).num_stages == 4
    counters = evaluate(model.network, result.schedule, x).counters
    estimate(model.network, result.schedule, counters)
    assert not any(name == "lava" or name.startswith("lava.") for name in sys.modules
                   if sys.modules[name] is not None)
    print("ok without lava")
""")


def test_library_works_where_lava_cannot_be_imported():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "ok without lava" in proc.stdout


def test_to_lava_needs_lava():
    script = ("import sys; sys.modules['lava'] = None\n"
              "import ldsnn_lava\n"
              "try:\n    ldsnn_lava.to_lava\nexcept ImportError as err:\n    print('needs', err)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("needs")
