"""Colab's Secrets panel in the rehearsal: a JSON file named by SFDPO_COLAB_SECRETS (name -> value)."""

import json
import os


class SecretNotFoundError(Exception):
    pass


def get(name: str) -> str:
    secrets = json.loads(open(os.environ["SFDPO_COLAB_SECRETS"]).read()) if "SFDPO_COLAB_SECRETS" in os.environ else {}
    if name not in secrets:
        raise SecretNotFoundError(name)
    return secrets[name]
