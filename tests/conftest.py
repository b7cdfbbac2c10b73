"""The suite runs under the speed defaults of the tinygan command (tinygan.configure_cpu(), applied here before
any test imports NumPy), as the package's import no longer applies them."""
import tinygan

tinygan.configure_cpu()
