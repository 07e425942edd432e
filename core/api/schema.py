"""OpenAPI descriptions of our authentication schemes (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AmazonSigV4Scheme(OpenApiAuthenticationExtension):
    target_class = "core.signing.AmazonSigV4Authentication"
    name = "AmazonSigV4"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "AWS Signature Version 4 (AWS4-HMAC-SHA256, service execute-api) over the exact "
                "body bytes; host and x-amz-date signed; 5 minutes of clock skew allowed. Any "
                "failure is 403 AccessDeniedException (contract §0.7)."
            ),
        }
