"""Every op of the engine as a plain function on Tensors. Each module keeps forward and backward together."""
from .elementwise import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
