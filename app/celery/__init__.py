"""The distributed queue (``LESSONLENS_QUEUE=celery``): job ids go to Celery; ``lessonlens worker``
processes run them.

Dependencies point one way, down to ``config``:

- ``config``: the Celery settings (``LESSONLENS_CELERY_*``), the configuration, the task names and
  the app factory;
- ``producer``: ``CeleryQueue``, the ``Queue`` the API uses: it sends job ids and reads the broker;
- ``worker``: the tasks a worker process runs (a job, one webhook attempt) over the shared job
  lifecycle (``app.lifecycle``); ``celery -A app.celery.worker worker`` loads its app.
"""
