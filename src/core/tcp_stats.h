/*
 * src/core/tcp_stats.h -- TCP's counters; see stats.h for the format.
 */
#ifndef TP_CORE_TCP_STATS_H
#define TP_CORE_TCP_STATS_H

#define TP_STATS_TCP(X)                                                           \
    X(TCP_IN_SEGS, "TcpInSegs", "TCP segments received")                          \
    X(TCP_OUT_SEGS, "TcpOutSegs", "TCP segments sent")                            \
    X(TCP_IN_ERRS, "TcpInErrs", "TCP segments malformed")                         \
    X(TCP_IN_CSUM_ERRORS, "TcpInCsumErrors", "TCP checksum mismatches")           \
    X(TCP_OUT_RSTS, "TcpOutRsts", "TCP resets sent")

#endif
