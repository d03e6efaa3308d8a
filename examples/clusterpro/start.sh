#! /bin/sh
# CLUSTERPRO EXEC resource, start script: point the VIP at this node.
/usr/local/bin/tgw-vip --vip 172.16.0.1 -c /etc/tgw.conf start
exit $?
