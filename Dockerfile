# Switchboard with both speech backends: whisper.cpp (model from a volume)
# and pocketsphinx (Debian's). Build: docker build -t switchboard .
# Run:   docker run --network host -v /srv/whisper-models:/models:ro switchboard
# (README, "Speech recognition: whisper").

# The whisper.cpp release whose C API the Go bindings in go.mod wrap: the
# bindings are pinned at commit 9453b4b9 (v0.0.0-20260227185758-9453b4b9be9b),
# first released in v1.8.4; whisper.h and bindings/go are identical from
# v1.8.3 to v1.8.4. Change both together.
ARG WHISPER_VERSION=v1.8.4

# --- libwhisper, static, from the upstream release tag ---
FROM debian:bookworm AS whisper
ARG WHISPER_VERSION
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates git cmake make gcc g++ \
 && rm -rf /var/lib/apt/lists/*
# GGML_NATIVE=OFF: code for any x86-64 with AVX2/FMA/F16C (ggml's default
# when not native), not for the CPU of the build machine, which would die
# with SIGILL elsewhere. WHISPER_CMAKE_FLAGS adds to it (e.g.
# -DGGML_AVX512=ON for a known fleet, or -DGGML_AVX2=OFF for old CPUs).
ARG WHISPER_CMAKE_FLAGS=""
RUN git clone --depth 1 --branch "${WHISPER_VERSION}" https://github.com/ggml-org/whisper.cpp /whisper.cpp \
 && cmake -S /whisper.cpp -B /whisper.cpp/build \
      -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_SHARED_LIBS=OFF \
      -DGGML_NATIVE=OFF \
      -DWHISPER_BUILD_TESTS=OFF \
      -DWHISPER_BUILD_EXAMPLES=OFF \
      -DWHISPER_BUILD_SERVER=OFF \
      ${WHISPER_CMAKE_FLAGS} \
 && cmake --build /whisper.cpp/build -j"$(nproc)" \
 && cmake --install /whisper.cpp/build --prefix /opt/whisper \
 && test -f /opt/whisper/lib/libwhisper.a -a -f /opt/whisper/lib/libggml-cpu.a -a -f /opt/whisper/include/whisper.h

# --- switchboard, with -tags "whisper sphinx" ---
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ pkg-config libpocketsphinx-dev \
 && rm -rf /var/lib/apt/lists/*
COPY --from=whisper /opt/whisper /opt/whisper
ENV CGO_ENABLED=1 \
    CGO_CFLAGS="-I/opt/whisper/include" \
    CGO_LDFLAGS="-L/opt/whisper/lib"
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -tags "whisper sphinx" -o /out/switchboard ./cmd/switchboard

# --- runtime ---
FROM debian:bookworm-slim
# libgomp1: ggml's OpenMP threads; libstdc++6: libwhisper (both linked
# statically into the binary otherwise). pocketsphinx and espeak-ng as before.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates espeak-ng libgomp1 libstdc++6 libpocketsphinx3 pocketsphinx-en-us \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/switchboard /usr/local/bin/switchboard
COPY configs /app/configs
# The image's default configuration: the shipped one with the whisper
# backend reading /models/ggml-base.bin. Mount your own configuration to
# change it (e.g. -v ./my.yaml:/app/configs/switchboard-whisper.yaml:ro).
RUN sed -e 's/^  backend: sphinx$/  backend: whisper/' \
        -e 's|^    model: ""|    model: /models/ggml-base.bin|' \
        configs/switchboard.yaml > configs/switchboard-whisper.yaml \
 && grep -q '^  backend: whisper$' configs/switchboard-whisper.yaml \
 && grep -q '^    model: /models/ggml-base.bin' configs/switchboard-whisper.yaml
# Models are not in the image: put ggml-base.bin (or another model, then
# point asr.whisper.model at it) in the volume.
VOLUME /models
EXPOSE 5060/udp 5060/tcp 10000-20000/udp
USER nobody
ENTRYPOINT ["switchboard"]
CMD ["serve", "--config", "/app/configs/switchboard-whisper.yaml"]
