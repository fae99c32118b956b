# IPython startup script of the code-interpreter-v1 template: the extra display formats E2B's
# template gives Python results, which the code-interpreter SDKs read as `data`, `chart` and
# `json` (docs/code-interpreter.md, "Display hooks"):
#   e2b/data          a pandas DataFrame as {column: [values]}
#   e2b/chart         a matplotlib Figure as e2b-charts' dict (type, title, elements, ...)
#   application/json  any list or dict, numpy values included
# Runs in every Python kernel before its first cell; pandas and matplotlib are only looked at
# once the cell has imported them, so a kernel that never uses them never pays their import.
import math
import sys
import warnings

import IPython
from IPython.core.formatters import BaseFormatter, JSONFormatter
from traitlets import ObjectName, Unicode


def _json_safe(value):
    """`value` with NaN and infinities as None and timestamps as ISO strings: the kernel's
    messages must stay strict JSON, which has neither."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class _InstanceFormatter(BaseFormatter):
    """A format for the instances of one class, which is looked up in `sys.modules`: an object
    of it can only exist once its module was imported, and other results cost no import."""

    _return_type = (dict, str)
    module_name = ""
    class_name = ""

    def __call__(self, obj):
        module = sys.modules.get(self.module_name)
        if module is not None and isinstance(obj, getattr(module, self.class_name)):
            return self.convert(obj)
        return super().__call__(obj)


class DataFrameFormatter(_InstanceFormatter):
    """e2b/data: a DataFrame's columns with their values (`to_dict(orient="list")`)."""

    format_type = Unicode("e2b/data")
    print_method = ObjectName("_repr_e2b_data_")
    module_name = "pandas"
    class_name = "DataFrame"

    def convert(self, frame):
        columns = frame.to_dict(orient="list")
        return {str(name): _json_safe(values) for name, values in columns.items()}


class FigureChartFormatter(_InstanceFormatter):
    """e2b/chart: a matplotlib Figure as e2b-charts reads it; none if it cannot."""

    format_type = Unicode("e2b/chart")
    print_method = ObjectName("_repr_e2b_chart_")
    module_name = "matplotlib.figure"
    class_name = "Figure"

    def convert(self, figure):
        from e2b_charts import chart_figure_to_dict

        try:
            # e2b-charts' pydantic models warn about numpy tick values on the cell's stderr.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return _json_safe(chart_figure_to_dict(figure))
        except Exception:
            # A figure e2b-charts cannot read still shows as its PNG.
            return None


class ListDictJSONFormatter(JSONFormatter):
    """application/json for plain lists and dicts too (IPython gives it only to objects with
    `_repr_json_`), through orjson so that numpy values serialize."""

    def __call__(self, obj):
        if isinstance(obj, (list, dict)):
            import orjson

            try:
                as_json = orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
            except TypeError:
                return super().__call__(obj)
            return orjson.loads(as_json), {"expanded": True}
        return super().__call__(obj)


_formatter = IPython.get_ipython().display_formatter
_formatter.formatters["e2b/data"] = DataFrameFormatter(parent=_formatter)
_formatter.formatters["e2b/chart"] = FigureChartFormatter(parent=_formatter)
_formatter.formatters["application/json"] = ListDictJSONFormatter(parent=_formatter)
