"""The enterprise portal (企业服务门户) at `/portal/`: server-rendered pages for enterprise
staff, every call made through the API with the signed-in user's own token."""
