from celery import Celery

app = Celery("xcfb", include=["workers.tasks"])
app.config_from_object("celeryconfig")
