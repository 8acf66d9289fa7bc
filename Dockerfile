# Serin's images for users with Docker (or Podman, BuildKit):
#
#   docker build --target serin -t serin:dev --build-arg VERSION=dev .
#   docker build --target serin-loadtester -t serin-loadtester:dev --build-arg VERSION=dev .
#
# `make images` builds the same images without a daemon (hack/images); this
# file is not used by the project's own build or tests.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY hack/tools/loadtest/go.mod hack/tools/loadtest/go.sum hack/tools/loadtest/
RUN go mod download && cd hack/tools/loadtest && go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN go build -trimpath -buildvcs=false -ldflags "-s -w -buildid= -X main.version=${VERSION}" \
      -o /out/ ./cmd/serin ./cmd/serin-loadtester && \
    cd hack/tools/loadtest && \
    go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" \
      -o /out/ github.com/rakyll/hey github.com/bojand/ghz/cmd/ghz

# distroless static: CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot AS serin
ARG VERSION=dev
LABEL org.opencontainers.image.title=serin \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.source=https://github.com/serin-dev/serin
COPY --from=build /out/serin /usr/local/bin/serin
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/serin"]

FROM gcr.io/distroless/static-debian12:nonroot AS serin-loadtester
ARG VERSION=dev
LABEL org.opencontainers.image.title=serin-loadtester \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.source=https://github.com/serin-dev/serin
COPY --from=build /out/serin-loadtester /out/hey /out/ghz /usr/local/bin/
ENV PATH=/usr/local/bin:/usr/bin:/bin
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/serin-loadtester"]
