"""Helpers that read EC2 Query API requests and write EC2 error responses."""

import re
import uuid
from xml.sax.saxutils import escape

# SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20240101/ap-northeast-1/ec2/aws4_request, ..."
_CREDENTIAL_SCOPE = re.compile(
    r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/aws4_request"
)


def credential_scope(authorization: str | None) -> tuple[str, str] | None:
    """Return (region, service) from a SigV4 Authorization header, or None."""
    if not authorization:
        return None
    match = _CREDENTIAL_SCOPE.search(authorization)
    if match is None:
        return None
    return match.group("region"), match.group("service")


def ec2_error_body(code: str, message: str) -> bytes:
    """Build the XML error document that EC2 returns for a failed call."""
    request_id = str(uuid.uuid4())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{request_id}</RequestID></Response>"
    ).encode()


def is_true(value: str | None) -> bool:
    """Read a Query API boolean the way EC2 does ("true", any case)."""
    return value is not None and value.strip().lower() == "true"
