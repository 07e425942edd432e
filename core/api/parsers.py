from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from jwo_client import wire


class DecimalJSONParser(JSONParser):
    """JSON numbers become ``Decimal`` (never float), as the contract requires (§0.5)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return wire.loads(raw)
        except ValueError as error:
            raise ParseError("JSON parse error") from error
