"""The credit service: facts from every agency, a versioned scoring model, levels, recognition."""
