/* bench/bare_domstats.c: the lower bound for bench/domstats.
 *
 * Opens a read-only libvirt connection, makes the one bulk call kv-domstats
 * makes per connection and cycle (same stats groups, same flags), frees the
 * result and exits. Nothing else: no per-domain calls, no XML, no output
 * but the number of domains and typed parameters on stderr. Its peak RSS is
 * what libvirt's client library itself costs for that call.
 *
 *   cc -O2 -o build/bench/bare-domstats bench/bare_domstats.c \
 *      $(pkg-config --cflags --libs libvirt)
 *   build/bench/bare-domstats URI
 */
#include <stdio.h>
#include <stdlib.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s URI\n", argv[0]);
    return 2;
  }
  virConnectPtr conn = virConnectOpenReadOnly(argv[1]);
  if (conn == NULL) {
    fprintf(stderr, "bare-domstats: cannot open %s\n", argv[1]);
    return 1;
  }
  unsigned int stats = VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
                       VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE |
                       VIR_DOMAIN_STATS_BLOCK;
  unsigned int flags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING |
                       VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED |
                       VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
  virDomainStatsRecordPtr *records = NULL;
  int n = virConnectGetAllDomainStats(conn, stats, &records, flags);
  if (n < 0) {
    virErrorPtr err = virGetLastError();
    fprintf(stderr, "bare-domstats: virConnectGetAllDomainStats: %s\n",
            err && err->message ? err->message : "unknown error");
    virConnectClose(conn);
    return 1;
  }
  long params = 0;
  for (int i = 0; i < n; i++) params += records[i]->nparams;
  virDomainStatsRecordListFree(records);
  virConnectClose(conn);
  fprintf(stderr, "bare-domstats: %d domains, %ld typed parameters\n", n, params);
  return 0;
}
