/*
 * src/core/tcp_stats.h -- TCP's counters; see stats.h for the format.
 * Names follow Linux nstat (Tcp..., TcpExt...) where a counterpart exists,
 * "TapirTcp..." otherwise.
 */
#ifndef TP_CORE_TCP_STATS_H
#define TP_CORE_TCP_STATS_H

#define TP_STATS_TCP(X)                                                           \
    X(TCP_IN_SEGS, "TcpInSegs", "TCP segments received")                          \
    X(TCP_OUT_SEGS, "TcpOutSegs", "TCP segments sent")                            \
    X(TCP_IN_ERRS, "TcpInErrs", "TCP segments malformed")                         \
    X(TCP_IN_CSUM_ERRORS, "TcpInCsumErrors", "TCP checksum mismatches")           \
    X(TCP_OUT_RSTS, "TcpOutRsts", "TCP resets sent")                              \
    X(TCP_ACTIVE_OPENS, "TcpActiveOpens", "connections opened by connect")        \
    X(TCP_PASSIVE_OPENS, "TcpPassiveOpens", "connections opened from a listener") \
    X(TCP_ATTEMPT_FAILS, "TcpAttemptFails", "SYN-SENT/SYN-RECEIVED to CLOSED or LISTEN") \
    X(TCP_ESTAB_RESETS, "TcpEstabResets", "ESTABLISHED/CLOSE-WAIT to CLOSED by reset") \
    X(TCP_RETRANS_SEGS, "TcpRetransSegs", "segments retransmitted")              \
    X(TCP_EXT_CHALLENGE_ACK, "TcpExtTCPChallengeACK", "RFC 5961 challenge ACKs sent") \
    X(TCP_EXT_CHALLENGE_ACK_LIMITED, "TapirTcpChallengeACKLimited", "challenge ACKs not sent: rate limit") \
    X(TCP_EXT_LISTEN_OVERFLOWS, "TcpExtListenOverflows", "SYNs or handshakes refused: a listener's queue full") \
    X(TCP_EXT_LISTEN_DROPS, "TcpExtListenDrops", "SYNs dropped at a listener, for any reason") \
    X(TCP_EXT_TIMEOUTS, "TcpExtTCPTimeouts", "retransmission timeouts")          \
    X(TCP_EXT_OFO_QUEUE, "TcpExtTCPOFOQueue", "segments held out of order")      \
    X(TCP_EXT_OFO_DROP, "TcpExtTCPOFODrop", "out-of-order segments dropped: cap or too many holes") \
    X(TCP_EXT_OFO_MERGE, "TcpExtTCPOFOMerge", "out-of-order segments overlapping held data") \
    X(TCP_EXT_ABORT_ON_TIMEOUT, "TcpExtTCPAbortOnTimeout", "connections given up after R2, SYN retries or keepalive probes") \
    X(TCP_EXT_ABORT_ON_CLOSE, "TcpExtTCPAbortOnClose", "closed with unread data: reset") \
    X(TCP_EXT_ABORT_ON_DATA, "TcpExtTCPAbortOnData", "data for a socket shut for reading: reset") \
    X(TCP_EXT_DELAYED_ACKS, "TcpExtDelayedACKs", "delayed ACKs sent by their timer") \
    X(TCP_EXT_PURE_ACKS, "TcpExtTCPPureAcks", "ACKs received without data")       \
    X(TCP_EXT_TW_RECYCLED, "TcpExtTWRecycled", "TIME-WAIT connections taken over by a new SYN") \
    X(TCP_EXT_RST_IN_TW, "TapirTcpRstInTimeWait", "RSTs ignored in TIME-WAIT (RFC 1337)") \
    X(TCP_EXT_ZERO_WINDOW_PROBES, "TapirTcpZeroWindowProbes", "zero-window probes sent") \
    X(TCP_EXT_SEQ_DROP, "TapirTcpSeqDrops", "segments outside the receive window") \
    X(TCP_EXT_OOW_ACK_LIMITED, "TapirTcpOutOfWindowAckLimited", "ACKs to unacceptable bare segments not sent: rate limit") \
    X(TCP_EXT_ACK_TOO_NEW, "TapirTcpAckTooNew", "ACKs of data not yet sent, answered with an ACK") \
    X(TCP_EXT_ACK_TOO_OLD, "TapirTcpAckTooOld", "ACKs below SND.UNA - MAX.SND.WND (RFC 5961 5.2)") \
    X(TCP_EXT_RST_BAD_SEQ, "TapirTcpRstOutOfWindow", "RSTs outside the window, ignored") \
    X(TCP_EXT_BAD_FLAGS, "TapirTcpInBadFlags", "segments with an illegal flag combination") \
    X(TCP_EXT_BAD_OPTS, "TapirTcpInBadOpts", "segments with malformed options")   \
    X(TCP_EXT_SYN_DATA_DROP, "TapirTcpSynDataDropped", "payload bytes of SYNs, not queued") \
    X(TCP_EXT_ECN_CONN, "TapirTcpEcnConns", "connections that negotiated ECN (RFC 3168)") \
    X(TCP_EXT_ECN_CE, "TapirTcpEcnCeRcvd", "segments received with the CE mark") \
    X(TCP_EXT_ECN_REDUCED, "TapirTcpEcnCwndReduced", "cwnd reductions answering ECE") \
    X(TCP_EXT_NO_PORT, "TapirTcpNoPort", "segments to a port with no socket")     \
    X(TCP_EXT_LISTEN_ACK_RST, "TapirTcpListenAckRst", "ACK-bearing segments at a listener answered with RST (RFC 9293 3.10.7.2), e.g. a late duplicate for a connection already closed") \
    X(TCP_EXT_RCV_OVERFLOW, "TapirTcpRcvOverflow", "segments beyond the receive buffer") \
    X(TCP_EXT_MSS_CLAMPED, "TapirTcpMssClamped", "peer MSS below 64, raised to 64") \
    X(TCP_EXT_NO_MEM, "TapirTcpNoMem", "buffer allocations that failed")         \
    X(TCP_EXT_BUF_ALLOCS, "TapirTcpBufAllocs", "connection buffers allocated")    \
    X(TCP_EXT_SOCK_FULL, "TapirTcpSockTableFull", "sockets refused: table full")  \
    X(TCP_EXT_ICMP_ERRORS, "TapirTcpIcmpErrors", "ICMP errors applied to a connection") \
    X(TCP_EXT_ICMP_BAD_SEQ, "TapirTcpIcmpBadSeq", "ICMP errors quoting a sequence outside SND.UNA..SND.NXT") \
    X(TCP_EXT_ICMP_NO_CONN, "TapirTcpIcmpNoConn", "ICMP errors for no connection") \
    X(TCP_EXT_PMTU_LOWERED, "TapirTcpPmtuLowered", "MSS lowered by frag-needed")  \
    X(TCP_EXT_R1_REACHED, "TapirTcpR1Reached", "retransmissions passing R1 (MUST-20 advice)") \
    X(TCP_EXT_FAST_RETRANS, "TcpExtTCPFastRetrans", "retransmissions on three duplicate ACKs") \
    X(TCP_EXT_PAWS_ESTAB, "TcpExtPAWSEstab", "segments dropped by PAWS (RFC 7323 5.3)") \
    X(TCP_EXT_WSCALE_CLAMPED, "TapirTcpWscaleClamped", "peer window scale above 14, used as 14") \
    X(TCP_EXT_TS_MISSING, "TapirTcpTsMissing", "segments without a timestamp on a timestamp connection, accepted") \
    X(TCP_EXT_TS_RTT_SAMPLES, "TapirTcpTsRttSamples", "RTT samples taken from timestamp echoes") \
    X(TCP_EXT_CONN_WSCALE, "TapirTcpConnWscale", "connections established with window scaling") \
    X(TCP_EXT_CONN_TS, "TapirTcpConnTimestamps", "connections established with timestamps") \
    X(TCP_EXT_CONN_SACK, "TapirTcpConnSack", "connections established with SACK") \
    X(TCP_EXT_HYSTART_CSS, "TapirTcpHystartCss", "slow starts turned conservative by HyStart++ (RFC 9406)") \
    X(TCP_EXT_CWND_RESTART, "TapirTcpCwndRestart", "cwnd cut to the initial window after idle (RFC 5681 4.1)") \
    X(TCP_EXT_CWV_NONVALIDATED, "TapirTcpCwvNonValidated", "windows found not validated: pipeACK below half of cwnd (RFC 7661 4.3)") \
    X(TCP_EXT_CWV_REDUCED, "TapirTcpCwvReduced", "windows halved at the end of the 5-minute non-validated period (RFC 7661 4.4.3)") \
    X(TCP_EXT_CWV_LOSS, "TapirTcpCwvLoss", "recoveries from a loss while not validated, cwnd from what was in use (RFC 7661 4.4.1)") \
    X(TCP_EXT_SACK_INVERTED, "TapirTcpSackInverted", "SACK blocks with left >= right, ignored") \
    X(TCP_EXT_SACK_OUTSIDE, "TapirTcpSackOutside", "SACK blocks outside SND.UNA..SND.MAX, ignored") \
    X(TCP_EXT_SACK_REPEATED, "TapirTcpSackRepeated", "SACK blocks repeated within one segment, ignored") \
    X(TCP_EXT_SACK_OVERFLOW, "TapirTcpSackScoreboardFull", "SACK blocks not remembered: scoreboard full") \
    X(TCP_EXT_DSACK_SENT, "TcpExtTCPDSACKOldSent", "D-SACK blocks reported for duplicate data (RFC 2883)") \
    X(TCP_EXT_DSACK_RECV, "TcpExtTCPDSACKRecv", "D-SACK blocks received (RFC 2883): spurious probes, RACK's reordering window") \
    X(TCP_EXT_SACK_RECOVERY, "TcpExtTCPSackRecovery", "fast recoveries with SACK (RFC 6675)") \
    X(TCP_EXT_RENO_RECOVERY, "TcpExtTCPRenoRecovery", "fast recoveries without SACK (RFC 6582)") \
    X(TCP_EXT_SACK_RETRANS, "TapirTcpSackRetrans", "segments retransmitted from the SACK scoreboard") \
    X(TCP_EXT_SACK_RESCUE, "TapirTcpSackRescue", "rescue retransmissions (RFC 6675 NextSeg rule 4)") \
    X(TCP_EXT_LOSS_PROBES, "TcpExtTCPLossProbes", "tail loss probes sent (RFC 8985 7)") \
    X(TCP_EXT_LOSS_PROBE_RECOVERY, "TcpExtTCPLossProbeRecovery", "losses repaired by a tail loss probe") \
    X(TCP_EXT_LOST_RETRANSMIT, "TcpExtTCPLostRetransmit", "retransmissions found lost again (RACK)") \
    X(TCP_EXT_RACK_LOST, "TapirTcpRackLost", "segments RACK marked lost (RFC 8985 6.2)") \
    X(TCP_EXT_RACK_REORDER, "TapirTcpRackReorderSeen", "connections where RACK saw reordering") \
    X(TCP_EXT_RACK_REO_TIMEOUT, "TapirTcpRackReoTimeouts", "RACK reordering timer expiries (RFC 8985 6.3)") \
    X(TCP_EXT_RACK_REO_WND_GROWN, "TapirTcpRackReoWndGrown", "RACK reordering windows widened by a D-SACK (RFC 8985 6.2 step 4)") \
    X(TCP_EXT_SEG_REC_MERGED, "TapirTcpSegRecMerged", "segments merged into the last RACK record: records full") \
    X(TCP_EXT_STATE_CLOSED, "TapirTcpStateClosed", "transitions to CLOSED")       \
    X(TCP_EXT_STATE_LISTEN, "TapirTcpStateListen", "transitions to LISTEN")       \
    X(TCP_EXT_STATE_SYN_SENT, "TapirTcpStateSynSent", "transitions to SYN-SENT")  \
    X(TCP_EXT_STATE_SYN_RECEIVED, "TapirTcpStateSynReceived", "transitions to SYN-RECEIVED") \
    X(TCP_EXT_STATE_ESTABLISHED, "TapirTcpStateEstablished", "transitions to ESTABLISHED") \
    X(TCP_EXT_STATE_FIN_WAIT_1, "TapirTcpStateFinWait1", "transitions to FIN-WAIT-1") \
    X(TCP_EXT_STATE_FIN_WAIT_2, "TapirTcpStateFinWait2", "transitions to FIN-WAIT-2") \
    X(TCP_EXT_STATE_CLOSE_WAIT, "TapirTcpStateCloseWait", "transitions to CLOSE-WAIT") \
    X(TCP_EXT_STATE_CLOSING, "TapirTcpStateClosing", "transitions to CLOSING")    \
    X(TCP_EXT_STATE_LAST_ACK, "TapirTcpStateLastAck", "transitions to LAST-ACK")  \
    X(TCP_EXT_STATE_TIME_WAIT, "TapirTcpStateTimeWait", "transitions to TIME-WAIT")

#endif
