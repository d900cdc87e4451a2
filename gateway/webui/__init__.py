"""What the gateway's server-rendered front ends share (the office dashboard at `/`, the
enterprise portal at `/portal/`): calling the API with the signed-in user's token (`api`),
the session cookie, CSRF tokens and the language switch (`session`)."""
