# One image for the API, the STT workers and rq-dashboard (compose picks the command).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHON=python
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY back-end/ back-end/
COPY start_worker.sh .
RUN useradd --create-home app && mkdir -p /data && chown app /data
USER app
