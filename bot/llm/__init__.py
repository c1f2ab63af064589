"""The model side: the OpenAI-compatible client, output schemas, and the model analyzer."""
