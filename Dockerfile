# The app image: every service of compose.yaml runs from it (`deno task ...`).
#
# DENO_IMAGE defaults to the official image. Where no registry is reachable,
# `deno task image` (scripts/build_image.ts) imports a local base from this
# machine's deno binary, with the npm packages already in /deno-dir, and builds
# this file on top of it with --network none.
ARG DENO_IMAGE=denoland/deno:2.9.6
FROM ${DENO_IMAGE}

ENV DENO_DIR=/deno-dir \
    DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1
WORKDIR /app
COPY . .

# Exec form: the local base has no shell. Caches the npm packages (a no-op
# when the base already holds them) and the transpiled sources, so a container
# starts without any registry.
RUN ["deno", "install", "--entrypoint", \
     "replica/main.ts", "gateway/main.ts", "ui/server.ts", "ui/build.ts", \
     "ui/src/main.tsx", "ui/src/perf.ts", "scripts/http_probe.ts", \
     "scripts/cluster_token.ts"]

EXPOSE 9001 9002 9003 8080 3000
ENTRYPOINT ["deno"]
CMD ["task", "replica"]
