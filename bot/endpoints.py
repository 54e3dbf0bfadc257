"""Where the Bot Framework publishes the channel's signing keys, and where the bot signs in: the defaults of
KCPF_BOT_OPENID_METADATA_URL and KCPF_BOT_AUTHORITY (tests point both at local servers)."""

from typing import Final

from connectors.sharepoint.config import AUTHORITY_HOST

BOT_OPENID_METADATA_URL: Final = "https://login.botframework.com/v1/.well-known/openidconfiguration"
LOGIN_AUTHORITY: Final = AUTHORITY_HOST  # Entra ID's sign-in authority, as for SharePoint
