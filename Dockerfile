# Build stage: a static-enough Go binary.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/switchboard ./cmd/switchboard

# Runtime: Debian with espeak-ng for prompts.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends espeak-ng ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/switchboard /usr/local/bin/switchboard
COPY configs /app/configs
EXPOSE 5060/udp 5060/tcp 10000-20000/udp
USER nobody
ENTRYPOINT ["switchboard"]
CMD ["serve", "--config", "/app/configs/switchboard.yaml"]
