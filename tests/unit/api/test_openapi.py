"""schemathesis against the API's own OpenAPI schema: generated requests to every route, no 5xx, every answer
in the documented shape and status. (Driven by hand: schemathesis' pytest fixtures do not load under pytest 9.)"""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from core.settings import get_settings
from db.engine import migrate
from tests.conftest import bearer

EXAMPLES_PER_ROUTE = 25


@pytest.fixture
def api_schema(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> schemathesis.BaseSchema:
    monkeypatch.setattr("services.dispatch.run_in_process", lambda _args: None)
    from main import create_app

    migrate(get_settings().sqlalchemy_url)
    return schemathesis.openapi.from_asgi("/openapi.json", create_app())


def test_every_route_answers_in_its_documented_shape(api_schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={**bearer("alice", role="admin"), **(case.headers or {})})

        answers_as_documented()
