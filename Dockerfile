# phonefleet as a container image: a static (musl) binary on distroless, as a non-root user.
#   docker build -t phonefleet .
#   docker run --rm -v "$PWD/fleet:/fleet:ro" -e GEELARK_TOKEN phonefleet plan /fleet
# Built by .github/workflows/release.yml for linux/amd64 and linux/arm64 and pushed to GHCR.
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin phonefleet && cp target/release/phonefleet /phonefleet

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /phonefleet /phonefleet
USER nonroot:nonroot
ENTRYPOINT ["/phonefleet"]
CMD ["--help"]
