"""Scale-out: the same engine on many replicas and machines, on Ray Serve.

``pip install 'aura-reflect-engine[ray]'``, then ``aura serve --replicas N`` (a Ray cluster on this
machine) or ``serve run deploy/ray/serve.yaml`` (an existing cluster; ``build_app`` is its builder).
docs/scale-out.md explains the settings. The deployment is thin: each replica runs ``create_app``;
what must be shared across replicas lives in one small actor (state.py).
"""

from .deployment import AuraEngine, build_app, engine_app

__all__ = ["AuraEngine", "build_app", "engine_app"]
