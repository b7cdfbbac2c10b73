"""Every op of the engine as a plain function on Tensors, layer 3. Each module keeps forward and backward together.

The ops import ``tinygan.autograd``, ``tinygan.backend``/``random`` and the kernels (``tinygan.kernels.dispatch``)
and nothing above; ``tinygan.keras``, ``tinygan.distributed`` (its synchronised BatchNorm), the benchmarks and
the tests import them. ``ARCHITECTURE.md`` shows how to write one.
"""
from .shape import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .random import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
