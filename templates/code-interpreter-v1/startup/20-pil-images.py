# IPython startup script of the code-interpreter-v1 template: PIL images reach the SDK as PNG
# results where a script would have opened a viewer or written a file, as in E2B's template:
# `Image.show()` displays the image in the cell's output instead of starting an external viewer
# (there is no display), and `Image.save("path")` also displays what it saved. Images left as a
# cell's value are PNG already (PIL's own `_repr_png_`).
from IPython.display import display
from PIL import Image, ImageShow


class _CellOutputViewer(ImageShow.Viewer):
    """PIL's viewer registry entry that shows an image as cell output."""

    def show(self, image, **options):
        display(image)
        return 1


ImageShow.register(_CellOutputViewer, order=-1)

_save_to_file = Image.Image.save


def _save_and_display(image, fp, format=None, **params):
    if isinstance(fp, str):
        display(image)
    return _save_to_file(image, fp, format, **params)


Image.Image.save = _save_and_display
