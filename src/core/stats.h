/*
 * src/core/stats.h -- every counter of a stack, in one table per module.
 *
 * X(enum suffix, public name, description).  Public names line up with
 * Linux nstat where a counterpart exists; the rest start with "Tapir".  The
 * tables are joined into one enum and one array; tapir_stats_*() expose them.
 */
#ifndef TP_CORE_STATS_H
#define TP_CORE_STATS_H

#include <stdint.h>

#define TP_STATS_IP(X)                                                            \
    X(IP_IN_RECEIVES, "IpInReceives", "IP packets received from the link")        \
    X(IP_IN_DELIVERS, "IpInDelivers", "IP packets handed to ICMP or TCP")         \
    X(IP_OUT_REQUESTS, "IpOutRequests", "IP packets sent")                        \
    X(IP_OUT_DISCARDS, "IpOutDiscards", "IP packets the link refused")            \
    X(IP_IN_HDR_ERRORS, "IpInHdrErrors", "IP packets with a bad header")          \
    X(IP_IN_TRUNCATED, "TapirIpInTruncated", "IP packets shorter than a length says") \
    X(IP_IN_BAD_VERSION, "TapirIpInBadVersion", "IP packets whose version is not 4") \
    X(IP_IN_BAD_HDR_LEN, "TapirIpInBadHdrLen", "IP packets with IHL < 5")         \
    X(IP_IN_BAD_TOTAL_LEN, "TapirIpInBadTotalLen", "IP total length below the header") \
    X(IP_IN_CSUM_ERRORS, "TapirIpInCsumErrors", "IP header checksum mismatches")  \
    X(IP_IN_ADDR_ERRORS, "IpInAddrErrors", "IP packets not addressed to us")      \
    X(IP_IN_BAD_SRC, "TapirIpInBadSrc", "IP packets from a broadcast, multicast or own source") \
    X(IP_IN_UNKNOWN_PROTOS, "IpInUnknownProtos", "IP packets of a protocol we do not speak") \
    X(IP_REASM_REQDS, "IpReasmReqds", "IP fragments received")                    \
    X(IP_REASM_OKS, "IpReasmOKs", "IP datagrams reassembled")                      \
    X(IP_REASM_FAILS, "IpReasmFails", "IP reassemblies given up (and fragments dropped)") \
    X(IP_REASM_TIMEOUT, "IpReasmTimeout", "IP reassemblies whose time ran out (RFC 1122 3.3.2)") \
    X(IP_REASM_OVERLAPS, "TapirIpReasmOverlaps", "IP reassemblies given up: fragments overlapped with other data") \
    X(IP_REASM_BAD_FRAG, "TapirIpReasmBadFrag", "IP fragments dropped: empty, not 8-byte aligned, past 64 KB, or beyond the end") \
    X(IP_REASM_EVICTED, "TapirIpReasmEvicted", "IP reassemblies given up to make room for a new one") \
    X(IP_REASM_DUPS, "TapirIpReasmDups", "IP fragments that repeated data already held, ignored") \
    X(IP_FRAG_OKS, "IpFragOKs", "IP datagrams sent in fragments")                  \
    X(IP_FRAG_CREATES, "IpFragCreates", "IP fragments sent")                      \
    X(IP_OUT_NO_ROUTES, "IpOutNoRoutes", "packets to send that were too big or unroutable")

#define TP_STATS_ICMP(X)                                                          \
    X(ICMP_IN_MSGS, "IcmpInMsgs", "ICMP messages received")                       \
    X(ICMP_IN_ERRORS, "IcmpInErrors", "ICMP messages malformed or with a bad checksum") \
    X(ICMP_IN_CSUM_ERRORS, "IcmpInCsumErrors", "ICMP checksum mismatches")        \
    X(ICMP_IN_ECHOS, "IcmpInEchos", "echo requests received")                     \
    X(ICMP_IN_DEST_UNREACHS, "IcmpInDestUnreachs", "destination unreachable received") \
    X(ICMP_IN_TIME_EXCDS, "IcmpInTimeExcds", "time exceeded received")            \
    X(ICMP_IN_OTHER, "TapirIcmpInOther", "ICMP messages of other types, ignored") \
    X(ICMP_OUT_MSGS, "IcmpOutMsgs", "ICMP messages sent")                         \
    X(ICMP_OUT_ECHO_REPS, "IcmpOutEchoReps", "echo replies sent")                 \
    X(ICMP_OUT_DEST_UNREACHS, "IcmpOutDestUnreachs", "destination unreachable sent") \
    X(ICMP_OUT_RATELIMITED, "TapirIcmpOutRateLimited", "ICMP messages not sent: rate limit")

/* TCP's own table lives with the TCP module. */
#include "core/tcp_stats.h"

enum tp_stat {
#define X(name, pub, desc) TP_STAT_##name,
    TP_STATS_IP(X)
    TP_STATS_ICMP(X)
    TP_STATS_TCP(X)
#undef X
    TP_STAT_N
};

struct tp_stats {
    uint64_t v[TP_STAT_N];
};

#endif
