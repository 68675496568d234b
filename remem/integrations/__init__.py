"""Adapters that plug remem into agent frameworks; each is its own extra and imports its
framework only when its module is imported.

- :mod:`remem.integrations.langgraph` — ``RememStore``, a LangGraph ``BaseStore``
  (``pip install 'remem[langgraph]'``).
- :mod:`remem.integrations.langchain` — ``RememRetriever``, a LangChain ``BaseRetriever``
  (``pip install 'remem[langchain]'``).
- :mod:`remem.integrations.openai_agents` — ``RememSession`` and ``RememSearchSession``, session memory for the OpenAI Agents SDK
  (``pip install 'remem[openai-agents]'``).

Importing this package imports no framework.
"""
