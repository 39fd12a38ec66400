"""The Slack Web API client the bot uses: slack_sdk's, timing every call for `/metrics`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

# Told of each call: its method, its result (`ok`, Slack's error code, the failure), seconds.
Observe = Callable[[str, str, float], None]


class TimedWebClient(AsyncWebClient):
    """AsyncWebClient that reports each Web API call's method, result and duration."""

    def __init__(self, observe: Observe, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._observe = observe

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        started, result = time.perf_counter(), "ok"
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            result = str(exc.response.get("error") or exc.response.status_code)
            raise
        except BaseException as exc:
            result = type(exc).__name__
            raise
        finally:
            self._observe(api_method, result, time.perf_counter() - started)
