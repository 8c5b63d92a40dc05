# syntax=docker/dockerfile:1
# crd-metrics-bridge container image: the application tree built by scripts/image/build-tree.sh
# (bundled dist/, production node_modules, bin/) on a distroless Node.js 24 runtime (no shell, no
# package manager). Runs as uid/gid 65534 and needs no writable path, so it works with
# readOnlyRootFilesystem. Base images are pinned by tag here; release builds pin them by digest
# (see README, "Install").
ARG BUILD_IMAGE=node:24.21.0-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# The tree is pure JavaScript (no native modules), so the build stage runs on the build host's
# architecture and one tree serves amd64 and arm64.
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json LICENSE ./
COPY scripts/build.js scripts/build.js
COPY scripts/image/build-tree.sh scripts/image/build-tree.sh
COPY src src
COPY bin bin
COPY rules rules
# The git revision for `--version` and build_info (the build context has no .git).
ARG REVISION=unknown
RUN --mount=type=cache,target=/root/.npm \
    CRD_METRICS_BRIDGE_REVISION="${REVISION}" bash scripts/image/build-tree.sh /app

FROM ${RUNTIME_IMAGE}
ARG REVISION=unknown
ARG VERSION=dev
LABEL org.opencontainers.image.title="crd-metrics-bridge" \
      org.opencontainers.image.description="Kubernetes custom resources as metrics (kube-state-metrics config, OpenTelemetry export)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /app /app
USER 65534:65534
EXPOSE 8080 8081
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "/app/bin/crd-metrics-bridge.js"]
CMD ["run", "--config=/etc/crd-metrics-bridge/config.yaml", "--source=kubernetes"]
