"""Per-client limits on sending accounts and starting uploads: against floods, without remembering anyone.

django-ratelimit counts in the cache under a key it hashes from the value given here, for one window
(its TTL). The value is an HMAC of the client's address with a key derived from SECRET_KEY, so neither
the cache key nor anything else holds the address, or a plain hash of it that could be reversed by
trying every IPv4 address.
"""

import ipaddress
import logging

from django.utils.crypto import salted_hmac
from django_ratelimit.core import get_usage

logger = logging.getLogger(__name__)


def client_key(group, request) -> str:
    # Behind nginx, config.middleware.ClientAddressFromProxyMiddleware has put the client's address here.
    address = request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        pass
    else:
        # A phone on IPv6 is given a whole /64: count the network, or one client could be thousands.
        address = str(ipaddress.ip_network(f"{ip}/64", strict=False) if ip.version == 6 else ip)
    return salted_hmac("submissions.ratelimits.client_key", address, algorithm="sha256").hexdigest()


def retry_after(request, *, group: str, rate: str) -> int | None:
    """Count this request: the seconds the client must wait if it is over `rate`, else None."""
    if not rate:
        return None
    try:
        usage = get_usage(request, group=group, key=client_key, rate=rate, increment=True)
    except Exception:
        # An unreachable cache must never stop a witness sending (logged without the request).
        logger.exception("Could not count %s for the rate limit: let through", group)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return max(usage["time_left"], 1)


def wait_in_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
