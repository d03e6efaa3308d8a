@echo off
rem CLUSTERPRO script resource, start script: point the VIP at this node.
"C:\Program Files\tgw-vip\tgw-vip.exe" --vip 172.16.0.1 -c "C:\ProgramData\tgw-vip\tgw.conf" start
exit /B %ERRORLEVEL%
