"""Entry point for Hugging Face Spaces (`python app.py`): the engine on 0.0.0.0:$PORT (7860 in a Space)."""

import os

from aura_reflect.cli import serve

if __name__ == "__main__":
    serve(host=os.environ.get("HOST", "0.0.0.0"))
