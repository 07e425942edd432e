from rest_framework.renderers import JSONRenderer

from jwo_client import wire


class DecimalJSONRenderer(JSONRenderer):
    """``Decimal`` is written as a JSON number with its exact digits, never a string or a float."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return wire.dumps(data)
