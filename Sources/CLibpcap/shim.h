#ifndef SMTPSCOPE_CLIBPCAP_SHIM_H
#define SMTPSCOPE_CLIBPCAP_SHIM_H
#include <pcap/pcap.h>
#include <stdio.h>
#endif
