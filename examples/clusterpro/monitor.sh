#! /bin/sh
# CLUSTERPRO custom monitor: exit 0 while every VIP route points at this node.
/usr/local/bin/tgw-vip --vip 172.16.0.1 -c /etc/tgw.conf monitor
exit $?
