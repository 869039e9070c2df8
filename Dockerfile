# fides service image. The source tree is copied whole: interfaces/ and referentials/ are data
# read at run time from beside the package (hence the editable install).
FROM python:3.11-slim

RUN useradd --system --create-home --uid 10001 fides
WORKDIR /opt/fides
COPY pyproject.toml README.md ./
COPY fides ./fides
COPY interfaces ./interfaces
COPY referentials ./referentials
COPY sample_flows ./sample_flows
# The code stays root's: the service cannot rewrite what it runs. Bytecode is compiled now
# because the service user cannot write __pycache__ at run time.
RUN pip install --no-cache-dir -e . && python -m compileall -q fides

# The buffer tree. It must exist and belong to the service user before VOLUME: an empty named
# volume is initialised from it (owner included), else it would be root's and fides could not
# create in/, out/…
RUN install -d -o fides -g fides -m 0700 /data

USER fides
ENV FIDES_ROOT=/data
VOLUME ["/data"]
# The dashboard's port when the container runs `fides web` (docker-compose.yml, service dashboard).
EXPOSE 8470
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s \
  CMD ["fides", "status", "--root", "/data", "--check"]
ENTRYPOINT ["fides"]
CMD ["run", "--root", "/data"]
