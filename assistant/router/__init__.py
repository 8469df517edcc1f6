"""The router: a LoRA adapter on the default Gemma 3 270M, trained by OptiQ's own fine-tuning
path, that reads a data question into the structured query (``assistant.tools.query``), a
listing, "knowledge" or "ask back".

- ``prompt``: the one prompt the router sees, at training and at question time;
- ``outputs``: what it may write (the JSON schema its grammar is built from), how an output is
  serialised for training and read back at question time;
- ``dataset``: the router data set, made from templates over the practice's vocabulary;
- ``decoding``: the router run by the inference workers, or in this process (evaluation);
- ``planning``: the router's plan for a question, the parser deciding when it fails;
- ``evaluation``: parser alone, router alone and router-then-parser, measured.
"""

ROUTER_CATEGORY = "router"
