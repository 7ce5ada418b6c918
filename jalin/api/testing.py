"""Test helper for API tests across modules: a JSON client that speaks bearer or session."""

import json

from django.test import Client

from jalin.accounts.services import api_token_create

API_PREFIX = "/api/v1"


def bearer_token_for(membership, *, name="test token"):
    _token, raw = api_token_create(membership=membership, name=name, actor=membership.user)
    return raw


class ApiClient:
    """`ApiClient(token=raw)` for bearer auth, `ApiClient(client=logged_in_client)` for the
    session. Paths are relative to /api/v1; bodies are encoded as JSON unless bytes/str."""

    def __init__(self, *, token=None, client=None):
        self.client = client or Client()
        self.token = token

    def _headers(self, headers):
        merged = {}
        if self.token:
            merged["Authorization"] = f"Bearer {self.token}"
        merged.update(headers or {})
        return merged

    def request(self, method, path, body=None, *, headers=None, **extra):
        if method.upper() == "GET":
            return self.get(path, headers=headers, **extra)
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        call = getattr(self.client, method.lower())
        kwargs = {"headers": self._headers(headers), **extra}
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        return call(API_PREFIX + path, **kwargs)

    def get(self, path, **kwargs):
        headers = self._headers(kwargs.pop("headers", None))
        return self.client.get(API_PREFIX + path, headers=headers, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path, body=None, **kwargs):
        return self.request("DELETE", path, body, **kwargs)
