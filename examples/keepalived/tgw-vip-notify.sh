#! /bin/sh
# keepalived notify script: when this node becomes MASTER, point the VIP's
# routes at it. keepalived calls it as: SCRIPT TYPE NAME STATE [PRIORITY],
# for example `notify /etc/keepalived/tgw-vip-notify.sh` in a vrrp_instance.
TGW_VIP=${TGW_VIP:-tgw-vip}
VIP=${VIP:-172.16.0.1}
CONFIG=${CONFIG:-/etc/tgw.conf}
# Optional key of this node under `servers`; by default the host name.
SERVER=${SERVER:-}

state=$3
case "$state" in
    MASTER)
        if [ -n "$SERVER" ]; then
            "$TGW_VIP" --vip "$VIP" -c "$CONFIG" --server "$SERVER" start
        else
            "$TGW_VIP" --vip "$VIP" -c "$CONFIG" start
        fi
        status=$?
        logger -t tgw-vip "start for VIP $VIP exited with $status" 2>/dev/null
        exit $status
        ;;
    BACKUP|FAULT|STOP)
        # The new MASTER moves the routes; nothing to undo here.
        exit 0
        ;;
    *)
        logger -t tgw-vip "unknown keepalived state '$state'" 2>/dev/null
        exit 0
        ;;
esac
