# nginx from Debian's packages, the one public entry point (TLS). Its configuration is rendered from
# deploy/production/nginx.conf.template by the app image (`python -m runtime.serve --render-proxy`, the
# compose file's proxy-config service) into the shared proxy-config volume.
#   docker build -f deploy/docker/proxy.Dockerfile -t shopdesk-proxy:0.2.0 .
FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/shopdesk-proxy/run/nginx /var/lib/shopdesk-proxy/logs \
 && chown -R www-data /var/lib/shopdesk-proxy
EXPOSE 80 443 8443
HEALTHCHECK --interval=10s --timeout=3s \
  CMD ["perl", "-MIO::Socket::INET", "-e", "exit !IO::Socket::INET->new('127.0.0.1:8081')"]
CMD ["nginx", "-e", "/dev/stderr", "-c", "/etc/shopdesk/nginx/nginx.conf", "-g", "daemon off;"]
