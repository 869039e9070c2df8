# fides service image. The source tree is copied whole: interfaces/ and referentials/ are data
# read at run time from beside the package.
FROM python:3.11-slim

RUN useradd --system --create-home --uid 10001 fides
WORKDIR /opt/fides
COPY pyproject.toml README.md ./
COPY fides ./fides
COPY interfaces ./interfaces
COPY referentials ./referentials
COPY sample_flows ./sample_flows
RUN pip install --no-cache-dir -e . && chown -R fides /opt/fides

USER fides
ENV FIDES_ROOT=/data
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s \
  CMD ["fides", "status", "--root", "/data", "--check"]
ENTRYPOINT ["fides"]
CMD ["run", "--root", "/data"]
