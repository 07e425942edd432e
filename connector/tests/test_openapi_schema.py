"""Every endpoint Amazon calls is described in the OpenAPI schema, with no generator warnings."""

import json

import pytest
from django.core.management import call_command


def test_schema_generates_and_validates_without_a_warning(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.stat().st_size > 0


@pytest.mark.parametrize(
    ("path", "operation", "codes"),
    [
        ("/v1/order/purchases", "createPurchases", {"201", "400", "403", "409", "503"}),
        ("/v1/fraudandabuse/shopperauthorization", "shopperAuthorization", {"200", "400", "403"}),
        ("/v1/events/jwo", "eventFeed", {"200", "400", "401", "503"}),
    ],
)
def test_schema_served_at_api_schema_describes_each_connector(client, path, operation, codes):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    post = schema["paths"][path]["post"]
    assert post["operationId"] == operation
    assert codes <= set(post["responses"])
    assert "requestBody" in post
