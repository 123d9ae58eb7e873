"""`nn`, the short name of `tinygrad_kr.nn` (the same package: same modules, same classes).

    import nn                       # short, but a file called nn.py in your folder hides it
    from tinygrad_kr import nn      # the import that nothing can shadow

Every submodule (`nn.functional`, `nn.optim`, `nn.optim.lr_scheduler`, ...) is the submodule
of `tinygrad_kr.nn` under a second name, so `isinstance` and `import nn.functional` work
either way.
"""

import sys

import tinygrad_kr.nn  # noqa: F401  (loads the package and its submodules, aliased below)

for _name, _module in list(sys.modules.items()):
    if _name == "tinygrad_kr.nn" or _name.startswith("tinygrad_kr.nn."):
        sys.modules["nn" + _name[len("tinygrad_kr.nn"):]] = _module
